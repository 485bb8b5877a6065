"""GraphQL resolvers: each validates its input, calls a service, returns wire data.

Fields without a resolver here are read from the wire dicts by graphql-core's
default resolver, which is how REST and GraphQL share one serialization.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo

from openfxn.server.auth.callers import Caller
from openfxn.server.errors import NotAvailableYet, NotFound
from openfxn.server.services import Services
from openfxn.server.services.models import (
    CreateAccessKeyInput,
    RevokeAccessKeyInput,
    UpdateUserInput,
    parse,
    to_wire,
)

Wire = dict[str, Any]
Resolver = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Context:
    caller: Caller
    services: Services


Info = GraphQLResolveInfo[Context]


async def resolve_user(
    _root: None, info: Info, input: Wire | None = None
) -> Wire | None:
    context = info.context
    username = (input or {}).get("username") or (input or {}).get("organization")
    if username is None:
        # Anonymous callers get null, not an error: `fxn auth login` relies on it.
        if context.caller.account is None:
            return None
        return to_wire(await context.services.users.retrieve_current(context.caller))
    try:
        return to_wire(await context.services.users.retrieve(context.caller, username))
    except NotFound:
        return None


async def resolve_update_user(_root: None, info: Info, input: Wire) -> Wire:
    context = info.context
    user = await context.services.users.update(
        context.caller, parse(UpdateUserInput, input)
    )
    return to_wire(user)


async def resolve_access_keys(_root: None, info: Info) -> list[Wire]:
    context = info.context
    return [
        to_wire(key) for key in await context.services.access_keys.list(context.caller)
    ]


async def resolve_create_access_key(_root: None, info: Info, input: Wire) -> Wire:
    context = info.context
    request = parse(CreateAccessKeyInput, input)
    return to_wire(await context.services.access_keys.create(context.caller, request))


async def resolve_revoke_access_key(_root: None, info: Info, input: Wire) -> Wire:
    context = info.context
    request = parse(RevokeAccessKeyInput, input)
    return to_wire(await context.services.access_keys.revoke(context.caller, request))


RESOLVERS: dict[str, Resolver] = {
    "retrieveCurrentUser": resolve_user,
    "retrieveUser": resolve_user,
    "updateUser": resolve_update_user,
    "listAccessKeys": resolve_access_keys,
    "createAccessKey": resolve_create_access_key,
    "revokeAccessKey": resolve_revoke_access_key,
}


def not_available(feature: str) -> Resolver:
    """A resolver for a part of the 2023 API that this server does not offer yet."""

    async def resolve(_root: Any, info: Info, **_args: Any) -> None:
        raise NotAvailableYet(
            f"{feature} are not available on this openfxn server yet; the field "
            f"'{info.parent_type.name}.{info.field_name}' is in the schema so that "
            "official clients validate."
        )

    return resolve


NOT_AVAILABLE: dict[str, Resolver] = {
    "Query.predictor": not_available("Predictors"),
    "Query.predictors": not_available("Predictors"),
    "User.predictors": not_available("Predictors"),
    "Organization.predictors": not_available("Predictors"),
    "User.environmentVariables": not_available("Environment variables"),
    "Organization.environmentVariables": not_available("Environment variables"),
    "Mutation.createPredictor": not_available("Predictors"),
    "Mutation.deletePredictor": not_available("Predictors"),
    "Mutation.archivePredictor": not_available("Predictors"),
    "Mutation.createPrediction": not_available("Predictions"),
    "Mutation.createUploadUrl": not_available("Uploads"),
    "Mutation.createEnvironmentVariable": not_available("Environment variables"),
    "Mutation.deleteEnvironmentVariable": not_available("Environment variables"),
}
