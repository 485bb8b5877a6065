"""The global options, the client the commands share, and the options several
commands take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from openfxn import Function

DEFAULT_TIMEOUT_S = 120.0


@dataclass
class Options:
    """What the options before the command said (``openfxn --debug ...``)."""

    access_key: str | None = None
    api_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    debug: bool = False
    client: Function | None = None
    """The client :func:`connect` made, once it has."""


def options(ctx: typer.Context) -> Options:
    return ctx.ensure_object(Options)


def connect(
    ctx: typer.Context, access_key: str | None = None, api_url: str | None = None
) -> Function:
    """A client from the global options (``access_key`` and ``api_url`` first),
    closed when the command ends."""
    given = options(ctx)
    client = Function(
        access_key or given.access_key,
        api_url or given.api_url,
        timeout=given.timeout,
    )
    ctx.call_on_close(client.close)
    given.client = client
    return client


JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print JSON (the API's fields), for scripts.")
]
Tag = Annotated[str, typer.Argument(metavar="TAG", help="The predictor, @owner/name.")]
Offset = Annotated[
    int | None, typer.Option(help="How many to skip, to page.", show_default=False)
]
Count = Annotated[
    int | None,
    typer.Option(help="How many at most (1 to 100).", show_default=False),
]
