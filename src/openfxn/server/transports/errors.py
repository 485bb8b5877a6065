"""The one JSON error envelope, and the REST handlers that produce it.

Every non-2xx reply carries ``{"error": message, "errors": [{"message":
message}]}``: ``error`` for the official Python client, which raises with it,
and ``errors`` for clients that read GraphQL-style errors.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from openfxn.server.errors import ServiceError
from openfxn.server.services.models import describe_validation_error

CHALLENGE = 'Bearer realm="openfxn", Basic realm="openfxn", charset="UTF-8"'


def envelope(message: str) -> dict[str, Any]:
    return {"error": message, "errors": [{"message": message}]}


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    return Response(
        orjson.dumps(envelope(message)),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def response_for(error: ServiceError) -> Response:
    return error_response(error.status, error.message)


async def handle_service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    return response_for(error)


async def handle_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    path = request.url.path
    if error.status_code == 404:
        message = (
            f"There is no endpoint at {path}. The REST API is listed at /docs and "
            "/openapi.json; GraphQL is served at /graph."
        )
    elif error.status_code == 405:
        allowed = allowed_methods(request)
        message = f"{request.method} is not allowed on {path}; use {allowed}."
        return error_response(405, message, {"Allow": allowed})
    else:
        message = str(error.detail)
    return error_response(error.status_code, message, error.headers)


def allowed_methods(request: Request) -> str:
    """Every method served at this path (Starlette names only one route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "\0"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def handle_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    content_type = request.headers.get("content-type", "")
    if problems and problems[0]["loc"] == ("body",) and "json" not in content_type:
        message = (
            f"The body must be JSON, sent with 'Content-Type: application/json' "
            f"(this request said '{content_type[:60] or 'nothing'}')."
        )
    elif any(problem["type"] == "json_invalid" for problem in problems):
        message = (
            "The body is not valid JSON. Send a JSON object with "
            "'Content-Type: application/json'."
        )
    else:
        message = describe_validation_error(problems)
    return error_response(400, message)


ExceptionHandler = Callable[[Request, Exception], Coroutine[Any, Any, Response]]

EXCEPTION_HANDLERS: dict[int | type[Exception], ExceptionHandler] = {
    ServiceError: handle_service_error,
    HTTPException: handle_http_error,
    RequestValidationError: handle_validation_error,
}
