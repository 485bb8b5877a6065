"""What the I/O-free core asks its driver to do, and what it gets back.

Every operation of the client is written once, as a *plan*: a generator that
yields effects and receives their outcomes. A driver (the sync one over
``httpx.Client``, the async one over ``httpx.AsyncClient``) performs each
effect and sends its outcome back in::

    effect yielded          outcome sent back
    Request                 Response, or Failure when no reply came
    Sleep                   None, once the time has passed
    OpenStream              Response (its body read only for an error
                            status), or Failure
    ReadChunk               the next bytes of the open stream, b"" at its
                            end, or Failure when the connection broke
    Emit                    None, once the item was handed to the caller

A plan ends by returning its result; ``Emit`` hands items out of a plan that
the driver iterates (a streamed prediction).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "Effect",
    "Emit",
    "Failure",
    "OpenStream",
    "Plan",
    "ProgressCallback",
    "ReadChunk",
    "Request",
    "Response",
    "Sleep",
]

T = TypeVar("T")

ProgressCallback = Callable[[int, int], None]
"""Called as an upload goes with the bytes sent so far and the total."""


@dataclass(frozen=True)
class Request:
    """One HTTP request, complete: the driver adds nothing to it."""

    method: str
    url: str
    headers: Mapping[str, str | bytes] = field(default_factory=dict, repr=False)
    content: bytes | None = field(default=None, repr=False)
    progress: ProgressCallback | None = field(default=None, repr=False)
    path: str = ""
    """The URL's path, for log lines (never the query, which may be signed)."""


@dataclass(frozen=True)
class Response:
    """A reply: its status, headers (names lowercased) and body."""

    status: int
    headers: Mapping[str, str]
    content: bytes = b""
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class Failure:
    """A request that got no reply.

    ``sent`` is False when the failure came before the request left (no
    connection), so that even a request that is not idempotent can be retried.
    """

    kind: str
    """``connect`` or ``timeout``: what went wrong, for the error raised."""
    sent: bool
    message: str
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class OpenStream:
    request: Request


@dataclass(frozen=True)
class ReadChunk:
    pass


@dataclass(frozen=True)
class Emit:
    item: Any


Effect = Request | Sleep | OpenStream | ReadChunk | Emit
Plan = Generator[Effect, Any, T]
