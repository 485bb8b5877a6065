"""The prediction fast path: ``POST /predict/{tag}`` answered without going
through FastAPI's routing, dependency solving, body validation and response
model, which together cost more server CPU than the rest of a greeting's trip.

It takes the plain case only, a JSON object (or no body) with at most the
``dataUrlLimit`` and ``rawOutputs`` query parameters, and answers it as the
``createPrediction`` route of ``rest.py`` would, through the same services and
error envelope. Anything else (``stream``, another parameter, a body that is not a
JSON object) goes on to that route, which also words the errors of bad input.
It stands in front of the application, with only uvicorn's proxy headers
before it: the dozen layers of middleware between (FastAPI's, Starlette's,
ours) each cost a turn on every await of every prediction. It logs, counts
and caps each prediction itself, through the same ``RequestMiddleware`` and
the same body limit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openfxn.server.errors import ServiceError
from openfxn.server.middleware import Metrics, RequestMiddleware, header, replaying
from openfxn.server.services import values
from openfxn.server.services.models import to_wire
from openfxn.server.transports.errors import response_for
from openfxn.server.transports.rest import MAX_TAG, authorization_of, base_url

PREFIX = "/predict/"
TAKEN_PARAMETERS = frozenset({"dataUrlLimit", "rawOutputs"})
TAKEN = "openfxn.fast"  # the scope's key for the inputs and query of a taken one
BASE_URLS_KEPT = 64


class FastPredictions:
    """Answers plain REST predictions itself, in front of the application's
    middleware and routing: it logs, counts and caps them as that middleware
    would (``RequestMiddleware``, the body limit), and hands anything else to
    ``app``."""

    def __init__(self, app: ASGIApp, body_limit: int, metrics: Metrics) -> None:
        self.app = app
        self.body_limit = body_limit
        self.recorded = RequestMiddleware(self.answer, metrics)
        self.route: BaseRoute | None = None  # createPrediction's, for metrics
        self.base_urls: dict[tuple[Any, ...], str] = {}  # see ``base_url_of``

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = plain_query(scope)
        if query is None or not self.is_capped_json(scope):
            await self.app(scope, receive, send)
            return
        messages, body = await read_body(receive)
        inputs = parse_inputs(body)
        if inputs is None:  # let the route say what is wrong with it
            await self.app(scope, replaying(messages, receive), send)
            return
        scope[TAKEN] = (inputs, query)
        await self.recorded(scope, receive, send)

    def is_capped_json(self, scope: Scope) -> bool:
        """A JSON body no longer than the limit says it is (the rest, such as
        a body of no stated length, goes through the limit's middleware)."""
        length = header(scope, b"content-length")
        if length is None or not length.isdigit() or int(length) > self.body_limit:
            return False
        kind = header(scope, b"content-type")
        return (
            kind is not None
            and kind.split(";")[0].strip().lower() == "application/json"
        )

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route or self.find_route(scope)
        inputs, query = scope.pop(TAKEN)
        await self.predict(scope, receive, send, inputs, query)

    async def predict(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        inputs: dict[str, Any],
        query: dict[str, str],
    ) -> None:
        request = Request(scope, receive)
        state = request.app.state
        caller = await state.callers.resolve(authorization_of(request))
        scope.setdefault("state", {})["username"] = caller.username
        tag = scope["path"][len(PREFIX) :]
        limit = values.parse_data_url_limit(query.get("dataUrlLimit"))
        try:
            prediction = await state.services.predictions.create(
                caller, tag, inputs, limit, self.base_url_of(request)
            )
        except ServiceError as error:
            await response_for(error)(scope, receive, send)
            return
        body = orjson.dumps(to_wire(prediction))
        await Response(body, media_type="application/json")(scope, receive, send)

    def base_url_of(self, request: Request) -> str:
        """``base_url(request)``, kept for each address requests give: a server
        is reached by a few names, and building the URL costs more than this."""
        scope = request.scope
        address = (
            scope["scheme"],
            header(scope, b"host"),
            scope.get("server"),
            scope.get("app_root_path"),
            scope.get("root_path"),
        )
        found = self.base_urls.get(address)
        if found is None:
            if len(self.base_urls) >= BASE_URLS_KEPT:  # names made up by clients
                self.base_urls.clear()
            found = self.base_urls[address] = base_url(request)
        return found

    def find_route(self, scope: Scope) -> BaseRoute | None:
        self.route = next(
            route
            for route in scope["app"].routes
            if getattr(route, "operation_id", None) == "createPrediction"
        )
        return self.route


def plain_query(scope: Scope) -> dict[str, str] | None:
    """The query of a prediction this path takes, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX) or not 0 < len(path) - len(PREFIX) <= MAX_TAG:
        return None
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    if any(name not in TAKEN_PARAMETERS for name, _ in query):
        return None
    return dict(query)


async def read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """Every message of the request body, and the body they carry."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return messages, b"".join(chunks)


def parse_inputs(body: bytes) -> dict[str, Any] | None:
    """The inputs a body holds: a JSON object, or none at all; else None."""
    if not body.strip():
        return {}
    try:
        inputs = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if inputs is None:
        return {}
    return inputs if isinstance(inputs, dict) else None
