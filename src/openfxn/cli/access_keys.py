"""``openfxn keys``: your access keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from openfxn import AccessKey
from openfxn.cli.options import JsonOutput, connect
from openfxn.cli.output import day, dump, echo_json, listing, note

app = typer.Typer(
    help="Create, list and revoke your access keys.", no_args_is_help=True
)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the key is for, like 'ci'.")],
    expires: Annotated[
        datetime | None,
        typer.Option(
            help="When it stops working, in your time zone (default: never).",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
            show_default=False,
        ),
    ] = None,
    as_json: JsonOutput = False,
) -> None:
    """Create an access key and print it: the only time it is shown.

    The key is the last line of standard output, so that
    `KEY=$(openfxn keys create ci)` keeps it.

    Example: `openfxn keys create ci --expires 2027-01-31`
    """
    aware = expires.astimezone() if expires else None
    created = connect(ctx).access_keys.create(name, expires=aware)
    if as_json:
        echo_json({**dump(created.access_key), "key": created.key})
        return
    record = created.access_key
    note(f"Access key '{record.name}' (id {record.id}), shown only once:")
    typer.echo(created.key)


COLUMNS = ("ID", "NAME", "HINT", "CREATED", "LAST USED", "EXPIRES")


def row(key: AccessKey) -> tuple[str, ...]:
    return (
        key.id,
        key.name,
        key.hint,
        day(key.created),
        day(key.last_used) or "never",
        day(key.expires) or "never",
    )


@app.command("list")
def list_keys(ctx: typer.Context, as_json: JsonOutput = False) -> None:
    """List your active access keys: a hint of each, never the key.

    Example: `openfxn keys list`
    """
    keys = connect(ctx).access_keys.list()
    listing(keys, as_json, COLUMNS, row, empty="No access keys.")


@app.command()
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id.")],
) -> None:
    """Revoke an access key: it stops working at once.

    Example: `openfxn keys revoke 3f9c2a...`
    """
    revoked = connect(ctx).access_keys.revoke(key_id)
    typer.echo(f"Revoked access key '{revoked.name}' (id {revoked.id}).")
