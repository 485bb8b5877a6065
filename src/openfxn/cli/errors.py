"""How a command fails: one line on standard error, and an exit status.

=====  ============================================================
 0     done
 1     the server refused or failed the request, or was not reached
 2     the command line is wrong: an unknown option, a bad input
 3     the user's code failed: ``predict`` raised, or a predictor
       ended INVALID
 130   interrupted (Ctrl-C)
=====  ============================================================

Every command runs under :class:`ReportingGroup`, the one place that turns an
exception into its line and status; ``openfxn --debug`` lets the exception
through instead, with its traceback.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from openfxn import (
    AuthenticationError,
    ConnectionError,
    ConversionError,
    OpenfxnError,
    TimeoutError,
)
from openfxn._client.credentials import resolve
from openfxn.cli.options import Options

if TYPE_CHECKING:
    from typer._click import Context  # typer's own copy of click


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    FAILED = 3
    INTERRUPTED = 130


class CommandError(Exception):
    """A failure the CLI reports itself, with the status it exits with."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UsageProblem(CommandError):
    """The command line asks for something that cannot be: exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


def describe(error: OpenfxnError, options: Options) -> str:
    """The line for a client error, with a fix a CLI user can apply."""
    client = options.client
    url = client.api_url if client else resolve(options.access_key, options.api_url)[1]
    if isinstance(error, ConnectionError):
        return (
            f"The server at {url} cannot be reached. Start one with 'openfxn "
            "serve', or point at another with --api-url URL or OPENFXN_API_URL."
        )
    if isinstance(error, TimeoutError):
        return (
            f"The server at {url} did not answer within {options.timeout:.0f} s. "
            "Try again, or wait longer with openfxn --timeout SECONDS."
        )
    if isinstance(error, AuthenticationError) and client and not client.has_access_key:
        return (
            f"This needs an access key for {url}. Log in with 'openfxn auth login "
            "KEY', or give one with --access-key KEY or OPENFXN_ACCESS_KEY."
        )
    return error.message


def explain(error: Exception, options: Options) -> tuple[str, ExitCode] | None:
    """The line and exit status for ``error``; None for one to let through."""
    if isinstance(error, CommandError):
        return error.message, error.code
    if isinstance(error, ConversionError):
        return error.message, ExitCode.USAGE
    if isinstance(error, OpenfxnError):
        return describe(error, options), ExitCode.ERROR
    if isinstance(error, BrokenPipeError):  # typer's to handle, quietly
        return None
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}", ExitCode.ERROR  # a file
    return None


def report(message: str) -> None:
    """Write ``Error: message`` on standard error."""
    typer.secho("Error: ", fg="red", bold=True, err=True, nl=False)
    typer.echo(message, err=True)


class ReportingGroup(TyperGroup):
    """The root command: reports what a command raised as one line."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            given = ctx.ensure_object(Options)
            explained = None if given.debug else explain(error, given)
            if explained is None:
                raise
            message, code = explained
            report(message)
            raise typer.Exit(code) from None
