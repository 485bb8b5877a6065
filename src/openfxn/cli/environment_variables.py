"""``openfxn env``: the secrets predictors get as environment variables."""

from __future__ import annotations

from typing import Annotated

import typer

from openfxn.cli.options import JsonOutput, connect
from openfxn.cli.output import listing, note, read_secret

app = typer.Typer(
    help="Secrets that predictors created afterwards get in os.environ.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="Letters, digits and _, like HF_TOKEN.")]


@app.command()
def create(
    ctx: typer.Context,
    name: Name,
    value: Annotated[
        str | None,
        typer.Argument(
            help="The secret; when left out, it is asked for unechoed, or read "
            "from standard input (keeping it out of your shell history).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Set an environment variable, replacing one of the same name. Values are
    write-only: no command shows them again.

    Example: `openfxn env create HF_TOKEN < token.txt`
    """
    if value is None:
        value = read_secret(f"Value of {name}")
    variable = connect(ctx).environment_variables.create(name, value)
    typer.echo(f"Set {variable.name}.")
    note("Predictors created from now on get it; existing ones keep what they had.")


@app.command("list")
def list_variables(ctx: typer.Context, as_json: JsonOutput = False) -> None:
    """List the names of your environment variables (never their values).

    Example: `openfxn env list`
    """
    variables = connect(ctx).environment_variables.list()
    listing(
        variables,
        as_json,
        ["NAME"],
        lambda variable: [variable.name],
        empty="No environment variables.",
    )


@app.command()
def delete(ctx: typer.Context, name: Name) -> None:
    """Delete an environment variable; predictors created before keep theirs.

    Example: `openfxn env delete HF_TOKEN`
    """
    connect(ctx).environment_variables.delete(name)
    typer.echo(f"Deleted {name}.")
