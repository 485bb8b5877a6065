"""The ``openfxn`` command line."""

from __future__ import annotations

import typer

from openfxn import __version__
from openfxn.cli import server

app = typer.Typer(
    name="openfxn",
    help="Serve Python predictors, and call them.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals may hold access keys
)
server.register(app)


def show_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=show_version,
        is_eager=True,
    ),
) -> None:
    """Serve Python predictors, and call them."""


def main() -> None:
    app()
