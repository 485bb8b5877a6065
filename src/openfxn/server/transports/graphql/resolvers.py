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
from openfxn.server.errors import NotFound, PermissionDenied
from openfxn.server.services import Services, values
from openfxn.server.services.models import (
    AuthorizationDecisionsInput,
    CreateAccessKeyInput,
    CreateEnvironmentVariableInput,
    CreatePredictionInput,
    CreatePredictorInput,
    CreateUploadUrlInput,
    DeleteEnvironmentVariableInput,
    PredictorInput,
    PredictorsInput,
    RevokeAccessKeyInput,
    UpdateUserInput,
    UsageInput,
    UserPredictorsInput,
    parse,
    to_wire,
)

Wire = dict[str, Any]
Resolver = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Context:
    caller: Caller
    services: Services
    base_url: str


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


async def resolve_rotate_authorization_secret(_root: None, info: Info) -> Wire:
    context = info.context
    return to_wire(
        await context.services.users.rotate_authorization_secret(context.caller)
    )


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


async def resolve_predictor(_root: None, info: Info, input: Wire) -> Wire | None:
    context = info.context
    request = parse(PredictorInput, input)
    try:
        return to_wire(
            await context.services.predictors.retrieve(context.caller, request.tag)
        )
    except NotFound:
        return None


async def resolve_user_predictors(
    user: Wire, info: Info, input: Wire | None = None
) -> list[Wire]:
    context = info.context
    request = parse(UserPredictorsInput, input or {})
    predictors = await context.services.predictors.list_by_owner(
        context.caller, user["username"], request
    )
    return [to_wire(predictor) for predictor in predictors]


async def resolve_search(
    _root: None, info: Info, input: Wire | None = None
) -> list[Wire]:
    context = info.context
    request = parse(PredictorsInput, input or {})
    return [
        to_wire(predictor)
        for predictor in await context.services.predictors.search(
            context.caller, request
        )
    ]


async def resolve_create_predictor(_root: None, info: Info, input: Wire) -> Wire:
    context = info.context
    request = parse(CreatePredictorInput, input)
    predictor = await context.services.predictors.create(
        context.caller, request, context.base_url
    )
    return to_wire(predictor)


async def resolve_delete_predictor(_root: None, info: Info, input: Wire) -> bool:
    context = info.context
    request = parse(PredictorInput, input)
    return await context.services.predictors.delete(context.caller, request.tag)


async def resolve_archive_predictor(_root: None, info: Info, input: Wire) -> Wire:
    context = info.context
    request = parse(PredictorInput, input)
    return to_wire(
        await context.services.predictors.archive(context.caller, request.tag)
    )


async def resolve_create_upload_url(_root: None, info: Info, input: Wire) -> str:
    context = info.context
    request = parse(CreateUploadUrlInput, input)
    return await context.services.uploads.create_url(
        context.caller, request, context.base_url
    )


async def resolve_environment_variables(user: Wire, info: Info) -> list[Wire]:
    context = info.context
    if user["username"] != context.caller.username:
        raise PermissionDenied(
            "Only the account itself can list its environment variables."
        )
    variables = await context.services.environment_variables.list(context.caller)
    return [to_wire(variable) for variable in variables]


async def resolve_create_environment_variable(
    _root: None, info: Info, input: Wire
) -> Wire:
    context = info.context
    request = parse(CreateEnvironmentVariableInput, input)
    variable = await context.services.environment_variables.create(
        context.caller, request
    )
    return to_wire(variable)


async def resolve_delete_environment_variable(
    _root: None, info: Info, input: Wire
) -> bool:
    context = info.context
    request = parse(DeleteEnvironmentVariableInput, input)
    return await context.services.environment_variables.delete(context.caller, request)


async def resolve_create_prediction(_root: None, info: Info, input: Wire) -> Wire:
    context = info.context
    request = parse(CreatePredictionInput, input)
    inputs = {value.pop("name"): value for value in request.inputs or []}
    prediction = await context.services.predictions.create(
        context.caller,
        request.tag,
        inputs,
        request.data_url_limit,
        context.base_url,
    )
    return to_wire(prediction)


async def resolve_prediction(_root: None, info: Info, id: str) -> Wire | None:
    context = info.context
    try:
        return to_wire(await context.services.predictions.retrieve(context.caller, id))
    except NotFound:
        return None


async def resolve_usage(_root: None, info: Info, input: Wire | None = None) -> Wire:
    context = info.context
    request = parse(UsageInput, input or {})
    return to_wire(await context.services.usage.retrieve(context.caller, request))


async def resolve_authorization_decisions(
    _root: None, info: Info, input: Wire | None = None
) -> list[Wire]:
    context = info.context
    request = parse(AuthorizationDecisionsInput, input or {})
    decisions = await context.services.usage.decisions(context.caller, request)
    return [to_wire(decision) for decision in decisions]


async def resolve_readme(predictor: Wire, info: Info) -> str | None:
    """The 2023 name of the card, still asked for by old clients."""
    card: str | None = predictor.get("card")
    return card


RESOLVERS: dict[str, Resolver] = {
    "retrieveCurrentUser": resolve_user,
    "retrieveUser": resolve_user,
    "updateUser": resolve_update_user,
    "rotateAuthorizationSecret": resolve_rotate_authorization_secret,
    "listAccessKeys": resolve_access_keys,
    "createAccessKey": resolve_create_access_key,
    "revokeAccessKey": resolve_revoke_access_key,
    "retrievePredictor": resolve_predictor,
    "listPredictors": resolve_user_predictors,
    "searchPredictors": resolve_search,
    "createPredictor": resolve_create_predictor,
    "deletePredictor": resolve_delete_predictor,
    "archivePredictor": resolve_archive_predictor,
    "createUploadUrl": resolve_create_upload_url,
    "listEnvironmentVariables": resolve_environment_variables,
    "createEnvironmentVariable": resolve_create_environment_variable,
    "deleteEnvironmentVariable": resolve_delete_environment_variable,
    "createPrediction": resolve_create_prediction,
    "retrievePrediction": resolve_prediction,
    "retrieveUsage": resolve_usage,
    "listAuthorizationDecisions": resolve_authorization_decisions,
}


def stored_convenience(field: str, dtype: str) -> Resolver:
    """A large result's ``stringValue``, ``listValue`` or ``dictValue``, read
    back from storage only when a query asks for it: the 0.0.9 clients always
    do, and fail on a string, list or dict result without it."""

    async def resolve(value: Wire, info: Info) -> Any:
        known = value.get(field)
        url = value.get("data")
        if known is not None or value.get("type") != dtype or not url:
            return known
        stored = await info.context.services.uploads.resolve(url, "result")
        return values.convenience(dtype, stored.data).get(field)

    return resolve


# Fields that are not operations of their own.
FIELDS: dict[str, Resolver] = {
    "Predictor.readme": resolve_readme,
    "Value.stringValue": stored_convenience("stringValue", "string"),
    "Value.listValue": stored_convenience("listValue", "list"),
    "Value.dictValue": stored_convenience("dictValue", "dict"),
    "Organization.predictors": resolve_user_predictors,
    "Organization.environmentVariables": resolve_environment_variables,
}
