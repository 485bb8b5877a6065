"""``openfxn auth``: log in to a server, see who you are, log out."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from openfxn import User, credentials_path, delete_credentials, save_credentials
from openfxn._client.credentials import KEY_VARIABLES
from openfxn.cli.errors import CommandError
from openfxn.cli.options import JsonOutput, Options, connect, options
from openfxn.cli.output import dump, echo_json, read_secret

app = typer.Typer(
    help="Log in to a server, see who you are, log out.", no_args_is_help=True
)


def someone(user: User) -> str:
    return f"{user.username} ({user.email})" if user.email else user.username


def key_source(given: Options) -> str:
    """Where the key in use comes from, in the order the client looks."""
    if given.access_key:
        return "--access-key"
    for variable in KEY_VARIABLES:
        if os.environ.get(variable, "").strip():
            return variable
    return str(credentials_path())


@app.command()
def login(
    ctx: typer.Context,
    key: Annotated[
        str | None,
        typer.Argument(
            help="The access key; when left out, it is asked for unechoed, or "
            "read from standard input.",
            envvar=list(KEY_VARIABLES),
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help="The server (default: as for any command).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check an access key with the server, then store it for later commands.

    The key is stored for that server only, in a file only you can read
    (`~/.config/openfxn/credentials.json`; `OPENFXN_CREDENTIALS` names another).

    Example: `openfxn auth login ofxn_... --api-url https://fxn.example.com`
    """
    key = key or options(ctx).access_key or read_secret("Access key")
    fxn = connect(ctx, access_key=key, api_url=api_url)
    user = fxn.users.retrieve()
    path = save_credentials(key, fxn.api_url)
    typer.echo(f"Logged in to {fxn.api_url} as {someone(user)}.")
    typer.echo(f"The key is stored in {path}.")


@app.command()
def status(ctx: typer.Context, as_json: JsonOutput = False) -> None:
    """Show who the access key in use belongs to, on which server, and where
    the key comes from.

    Example: `openfxn auth status`
    """
    fxn = connect(ctx)
    if not fxn.has_access_key:
        raise CommandError(
            f"Not logged in to {fxn.api_url}. Log in with 'openfxn auth login KEY'."
        )
    user = fxn.users.retrieve()
    source = key_source(options(ctx))
    if as_json:
        echo_json({"apiUrl": fxn.api_url, "keySource": source, "user": dump(user)})
        return
    typer.echo(f"Logged in to {fxn.api_url} as {someone(user)}.")
    typer.echo(f"The key comes from {source}.")


@app.command()
def logout() -> None:
    """Delete the stored access key (keys given by option or environment stay).

    Example: `openfxn auth logout`
    """
    path = credentials_path()
    if delete_credentials():
        typer.echo(f"Logged out: deleted {path}.")
    else:
        typer.echo(f"Not logged in: there is no {path}.")
