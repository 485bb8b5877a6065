"""The ``openfxn`` command line: the server's commands (``serve``, ``admin``,
``schema``) and the client's, which call a server through the client library.

::

    options.py                the global options, the client commands share
    errors.py                 exit statuses; one line per error
    output.py                 tables, fields, JSON and spinners
    auth.py                   openfxn auth login|status|logout
    predict.py, inputs.py     openfxn predict, and its inputs' types
    predictors.py             openfxn predictors create|retrieve|list|...
    environment_variables.py  openfxn env create|list|delete
    access_keys.py            openfxn keys create|list|revoke
    usage.py                  openfxn usage
    server.py                 openfxn serve, admin, schema
"""

from __future__ import annotations

from typing import Annotated

import typer

from openfxn import __version__
from openfxn.cli import access_keys, auth, environment_variables, predictors, server
from openfxn.cli.errors import ReportingGroup
from openfxn.cli.options import DEFAULT_TIMEOUT_S, Options
from openfxn.cli.predict import predict
from openfxn.cli.usage import usage

CLIENT = "Client"

app = typer.Typer(
    name="openfxn",
    cls=ReportingGroup,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals may hold access keys
)
app.add_typer(auth.app, name="auth", rich_help_panel=CLIENT)
app.command(
    rich_help_panel=CLIENT,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(predict)
app.add_typer(predictors.app, name="predictors", rich_help_panel=CLIENT)
app.add_typer(environment_variables.app, name="env", rich_help_panel=CLIENT)
app.add_typer(access_keys.app, name="keys", rich_help_panel=CLIENT)
app.command(rich_help_panel=CLIENT)(usage)
server.register(app)


def show_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    access_key: Annotated[
        str | None,
        typer.Option(
            help="The access key (default: OPENFXN_ACCESS_KEY, FXN_ACCESS_KEY, "
            "then the one 'openfxn auth login' stored for the server).",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="The server (default: OPENFXN_API_URL, FXN_API_URL, the one "
            "logged in to, then http://127.0.0.1:8000).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each answer of the server.")
    ] = DEFAULT_TIMEOUT_S,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Serve Python predictors, and call them.

    Exit statuses: 0 done; 1 the server refused or was not reached; 2 a wrong
    command line; 3 predict raised, or a predictor ended INVALID; 130
    interrupted.
    """
    ctx.obj = Options(access_key, api_url, timeout, debug)


def main() -> None:
    app()
