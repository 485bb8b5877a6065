"""GraphQL over HTTP: POST a JSON body with ``query`` and optional ``variables``.

Errors from the document or its execution come back with HTTP 200 and
``errors``, as the official clients expect; only a request that is not a
GraphQL request at all (bad JSON, no query, a malformed credential) gets a
non-2xx status with the JSON error envelope.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from inspect import isawaitable
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    execute,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.responses import Response

from openfxn.server.errors import InvalidRequest, ServiceError
from openfxn.server.settings import Settings
from openfxn.server.transports.errors import response_for
from openfxn.server.transports.graphql.limits import check_limits
from openfxn.server.transports.graphql.resolvers import Context
from openfxn.server.transports.graphql.schema import executable_schema
from openfxn.server.transports.rest import authorization_of, base_url

logger = logging.getLogger("openfxn.server")

INTERNAL_ERROR = "The server failed to run this operation; the failure is logged."


class GraphQLEndpoint:
    """The ASGI endpoint; parsed and validated documents are cached by text."""

    def __init__(self, settings: Settings) -> None:
        self.schema: GraphQLSchema = executable_schema()
        self.settings = settings
        self.prepare = lru_cache(maxsize=512)(self._prepare)

    def _prepare(self, query: str) -> DocumentNode | list[GraphQLError]:
        try:
            document = parse(query, max_tokens=self.settings.graphql_max_tokens)
        except GraphQLError as error:
            return [error]
        errors = check_limits(
            document,
            max_depth=self.settings.graphql_max_depth,
            max_aliases=self.settings.graphql_max_aliases,
        )
        return errors or validate(self.schema, document, specified_rules) or document

    async def handle(self, request: Request) -> Response:
        try:
            query, variables, operation_name = read_request(await request.body())
            caller = await request.app.state.callers.resolve(authorization_of(request))
        except ServiceError as error:
            return response_for(error)
        request.state.username = caller.username

        prepared = self.prepare(query)
        if isinstance(prepared, list):
            return respond(ExecutionResult(data=None, errors=prepared))
        result = execute(
            self.schema,
            prepared,
            context_value=Context(
                caller, request.app.state.services, base_url(request)
            ),
            variable_values=variables,
            operation_name=operation_name,
        )
        if isawaitable(result):
            result = await result
        return respond(result)


def read_request(body: bytes) -> tuple[str, dict[str, Any] | None, str | None]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest(
            "The body is not valid JSON. POST a JSON object like "
            '{"query": "{ user { username } }"} with Content-Type: application/json.'
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        raise InvalidRequest(
            "The body needs a 'query' string holding a GraphQL document, like "
            '{"query": "{ user { username } }"}.'
        )
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise InvalidRequest(
            "'variables' must be a JSON object mapping names to values."
        )
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise InvalidRequest("'operationName' must be a string naming an operation.")
    return payload["query"], variables, operation_name


def respond(result: ExecutionResult) -> Response:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(error) for error in result.errors]
    return Response(orjson.dumps(body), media_type="application/json")


def format_error(error: GraphQLError) -> dict[str, Any]:
    formatted = error.formatted
    original = error.original_error
    if isinstance(original, ServiceError):
        formatted["message"] = original.message
        formatted["extensions"] = {"code": original.code, "status": original.status}
    elif original is not None:
        logger.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        formatted["message"] = INTERNAL_ERROR
        formatted["extensions"] = {"code": "INTERNAL", "status": 500}
    return dict(formatted)
