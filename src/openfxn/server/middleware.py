"""ASGI middleware: the body limit, and the access line, metrics and last-resort
error handling for every request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openfxn.server.transports.errors import error_response

access_logger = logging.getLogger("openfxn.access")
server_logger = logging.getLogger("openfxn.server")

INTERNAL_ERROR = "The server failed to handle this request; the failure is logged."


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "openfxn_http_requests",
            "HTTP requests answered, by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "openfxn_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ["method", "route"],
            registry=self.registry,
        )
        # Each label set's series, found once: labels() costs more than inc().
        self.series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, method: str, route: str, status: int, elapsed: float) -> None:
        series = self.series.get((method, route, status))
        if series is None:
            series = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
            self.series[method, route, status] = series
        series[0].inc()
        series[1].observe(elapsed)


class RequestMiddleware:
    """Logs one access line per request, counts it, and turns a crash into a 500."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_and_record(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        except Exception:
            server_logger.exception(
                "request failed: %s %s", scope["method"], scope["path"]
            )
            if not response_started:
                status = 500
                await error_response(500, INTERNAL_ERROR)(scope, receive, send)
        finally:
            self.record(scope, status, time.perf_counter() - started)

    def record(self, scope: Scope, status: int, elapsed: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.record(method, route, status, elapsed)
        if not access_logger.isEnabledFor(logging.INFO):  # --log-level warning
            return
        username = scope.get("state", {}).get("username")
        path = printable_path(scope)
        access_logger.info(
            "%s %s %d %.1fms %s",
            method,
            path,
            status,
            elapsed * 1000,
            username or "-",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
                "username": username,
            },
        )


def printable_path(scope: Scope) -> str:
    """The path as the client sent it, percent-encoded: no line breaks in logs."""
    raw = scope.get("raw_path")
    if raw is None:
        return quote(scope["path"])
    # Some servers include the query in raw_path; it is never logged.
    return bytes(raw).split(b"?", 1)[0].decode("ascii", "backslashreplace")


class BodyLimitMiddleware:
    """Answers 413 for a body over its limit before it is read whole."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self.reject(scope, receive, send, limit)
            return
        if length is not None:
            await self.app(scope, receive, send)
            return

        # No declared length (chunked): read up to the limit, then replay.
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                await self.reject(scope, receive, send, limit)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        await self.app(scope, replaying(messages, receive), send)

    async def reject(
        self, scope: Scope, receive: Receive, send: Send, limit: int
    ) -> None:
        message = (
            f"The request body is larger than this server accepts here ({limit} "
            "bytes). Send less data, or raise the limit: OPENFXN_MAX_BODY_BYTES, or "
            "OPENFXN_MAX_<TYPE>_BYTES for uploads."
        )
        await error_response(413, message, {"Connection": "close"})(
            scope, receive, send
        )


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives ``messages``, already read, before the rest."""

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay
