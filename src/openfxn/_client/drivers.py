"""The two drivers that run plans: one over ``httpx.Client``, one over
``httpx.AsyncClient``. They perform effects and nothing else; every decision
(what to send, whether to retry, what a reply means) is the core's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from openfxn._client.sansio.effects import (
    Emit,
    Failure,
    OpenStream,
    Plan,
    ProgressCallback,
    ReadChunk,
    Request,
    Response,
    Sleep,
)

T = TypeVar("T")

UPLOAD_CHUNK_BYTES = 64 * 1024
# No connection was made: the request certainly did not reach the server.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def build(
    http: httpx.Client | httpx.AsyncClient, request: Request, body: Any
) -> httpx.Request:
    headers = [
        (name.encode(), value if isinstance(value, bytes) else value.encode())
        for name, value in request.headers.items()
    ]
    return http.build_request(
        request.method, request.url, headers=headers, content=body
    )


def chunks(content: bytes, progress: ProgressCallback) -> Iterator[bytes]:
    """``content`` in pieces, reporting the bytes sent after each."""
    total = len(content)
    progress(0, total)
    for start in range(0, total, UPLOAD_CHUNK_BYTES):
        yield content[start : start + UPLOAD_CHUNK_BYTES]
        progress(min(start + UPLOAD_CHUNK_BYTES, total), total)


def reply(response: httpx.Response, started: float, content: bytes = b"") -> Response:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Response(response.status_code, headers, content, elapsed(started))


def failure(error: httpx.TransportError, started: float) -> Failure:
    kind = "timeout" if isinstance(error, httpx.TimeoutException) else "connect"
    message = str(error) or type(error).__name__
    return Failure(kind, not isinstance(error, UNSENT), message, elapsed(started))


def elapsed(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def misplaced(effect: object) -> RuntimeError:
    return RuntimeError(f"a plan yielded {effect!r} where it cannot be performed")


class SyncDriver:
    """Runs plans on an ``httpx.Client``."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def run(self, plan: Plan[T]) -> T:
        """Perform ``plan``'s effects in turn; its result."""
        with SyncEffects(self.http) as effects:
            outcome = None
            while True:
                try:
                    effect = plan.send(outcome)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                outcome = effects.perform(effect)

    def iterate(self, plan: Plan[None]) -> Iterator[Any]:
        """Perform ``plan``'s effects in turn, yielding what it emits."""
        with SyncEffects(self.http) as effects:
            try:
                outcome = None
                while True:
                    try:
                        effect = plan.send(outcome)
                    except StopIteration:
                        return
                    if isinstance(effect, Emit):
                        yield effect.item
                        outcome = None
                    else:
                        outcome = effects.perform(effect)
            finally:
                plan.close()


class SyncEffects:
    """The effects of one plan's run, and the stream it may hold open."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.stream: httpx.Response | None = None
        self.chunks: Iterator[bytes] = iter(())

    def __enter__(self) -> SyncEffects:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.stream is not None:
            self.stream.close()

    def perform(self, effect: object) -> Any:
        if isinstance(effect, Request):
            return self.send(effect, stream=False)
        if isinstance(effect, Sleep):
            time.sleep(effect.seconds)
            return None
        if isinstance(effect, OpenStream):
            return self.send(effect.request, stream=True)
        if isinstance(effect, ReadChunk):
            started = time.perf_counter()
            try:
                return next(self.chunks, b"")
            except httpx.TransportError as error:
                return failure(error, started)
        raise misplaced(effect)

    def send(self, request: Request, *, stream: bool) -> Response | Failure:
        body: Any = request.content
        if body is not None and request.progress is not None:
            body = chunks(body, request.progress)
        started = time.perf_counter()
        try:
            response = self.http.send(build(self.http, request, body), stream=stream)
            if not stream or response.status_code >= 400:
                content = response.read()
                response.close()
                return reply(response, started, content)
        except httpx.TransportError as error:
            return failure(error, started)
        self.stream, self.chunks = response, response.iter_bytes()
        return reply(response, started)


class AsyncDriver:
    """Runs plans on an ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def run(self, plan: Plan[T]) -> T:
        """Perform ``plan``'s effects in turn; its result."""
        async with AsyncEffects(self.http) as effects:
            outcome = None
            while True:
                try:
                    effect = plan.send(outcome)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                outcome = await effects.perform(effect)

    async def iterate(self, plan: Plan[None]) -> AsyncIterator[Any]:
        """Perform ``plan``'s effects in turn, yielding what it emits."""
        async with AsyncEffects(self.http) as effects:
            try:
                outcome = None
                while True:
                    try:
                        effect = plan.send(outcome)
                    except StopIteration:
                        return
                    if isinstance(effect, Emit):
                        yield effect.item
                        outcome = None
                    else:
                        outcome = await effects.perform(effect)
            finally:
                plan.close()


class AsyncEffects:
    """The effects of one plan's run, and the stream it may hold open."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.stream: httpx.Response | None = None
        self.chunks: AsyncIterator[bytes] | None = None

    async def __aenter__(self) -> AsyncEffects:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.stream is not None:
            await self.stream.aclose()

    async def perform(self, effect: object) -> Any:
        if isinstance(effect, Request):
            return await self.send(effect, stream=False)
        if isinstance(effect, Sleep):
            await asyncio.sleep(effect.seconds)
            return None
        if isinstance(effect, OpenStream):
            return await self.send(effect.request, stream=True)
        if isinstance(effect, ReadChunk):
            if self.chunks is None:
                return b""
            started = time.perf_counter()
            try:
                return await anext(self.chunks, b"")
            except httpx.TransportError as error:
                return failure(error, started)
        raise misplaced(effect)

    async def send(self, request: Request, *, stream: bool) -> Response | Failure:
        body: Any = request.content
        if body is not None and request.progress is not None:
            body = pieces(chunks(body, request.progress))
        started = time.perf_counter()
        try:
            response = await self.http.send(
                build(self.http, request, body), stream=stream
            )
            if not stream or response.status_code >= 400:
                content = await response.aread()
                await response.aclose()
                return reply(response, started, content)
        except httpx.TransportError as error:
            return failure(error, started)
        self.stream, self.chunks = response, response.aiter_bytes()
        return reply(response, started)


async def pieces(parts: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``parts`` for an ``httpx.AsyncClient``, which takes only async bodies."""
    for part in parts:
        yield part
