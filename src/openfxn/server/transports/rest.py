"""The REST transport: one thin handler per operation, wired from the list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

from fastapi import Body, Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel

from openfxn.server.auth.callers import Caller
from openfxn.server.services import Services, values
from openfxn.server.services.models import (
    MAX_OFFSET,
    AccessKey,
    AuthorizationDecision,
    AuthorizationDecisionsInput,
    CreateAccessKeyInput,
    CreateEnvironmentVariableInput,
    CreatePredictorInput,
    CreateUploadUrlInput,
    DeleteEnvironmentVariableInput,
    EnvironmentVariable,
    NewAccessKey,
    Prediction,
    Predictor,
    PredictorsInput,
    PredictorStatus,
    RevokeAccessKeyInput,
    UpdateUserInput,
    Usage,
    UsageInput,
    User,
    UserPredictorsInput,
    parse,
)
from openfxn.server.services.operations import OPERATIONS, Operation
from openfxn.server.services.predictions import OnPrediction
from openfxn.server.transports.streams import stream_prediction


class ErrorMessage(BaseModel):
    message: str


class ErrorEnvelope(BaseModel):
    """The body of every error reply."""

    error: str
    errors: list[ErrorMessage]


def authorization_of(request: Request) -> str | None:
    """The Authorization header, decoded as UTF-8 (Starlette assumes Latin-1)."""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            return bytes(value).decode("utf-8", "surrogateescape")
    return None


async def get_caller(request: Request) -> Caller:
    caller: Caller = await request.app.state.callers.resolve(authorization_of(request))
    request.state.username = caller.username
    return caller


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


CallerDep = Annotated[Caller, Depends(get_caller)]
ServicesDep = Annotated[Services, Depends(get_services)]


async def retrieve_current_user(caller: CallerDep, services: ServicesDep) -> User:
    return await services.users.retrieve_current(caller)


async def retrieve_user(
    username: Annotated[str, Path(max_length=39)],
    caller: CallerDep,
    services: ServicesDep,
) -> User:
    return await services.users.retrieve(caller, username)


async def update_user(
    changes: UpdateUserInput, caller: CallerDep, services: ServicesDep
) -> User:
    return await services.users.update(caller, changes)


async def rotate_authorization_secret(caller: CallerDep, services: ServicesDep) -> User:
    return await services.users.rotate_authorization_secret(caller)


async def list_access_keys(caller: CallerDep, services: ServicesDep) -> list[AccessKey]:
    return await services.access_keys.list(caller)


async def create_access_key(
    request: CreateAccessKeyInput, caller: CallerDep, services: ServicesDep
) -> NewAccessKey:
    return await services.access_keys.create(caller, request)


async def revoke_access_key(
    id: Annotated[str, Path(max_length=32)], caller: CallerDep, services: ServicesDep
) -> AccessKey:
    return await services.access_keys.revoke(caller, RevokeAccessKeyInput(id=id))


MAX_TAG = 80
Tag = Annotated[str, Path(max_length=MAX_TAG, description="The tag: @owner/name")]
Offset = Annotated[int | None, Query(ge=0, le=MAX_OFFSET)]
Count = Annotated[int | None, Query(ge=1, le=100)]


def base_url(request: Request) -> str:
    """The server's address as the client sees it, for URLs handed out."""
    public: str | None = request.app.state.settings.public_url
    return public or str(request.base_url)


async def retrieve_predictor(
    tag: Tag, caller: CallerDep, services: ServicesDep
) -> Predictor:
    return await services.predictors.retrieve(caller, tag)


async def list_predictors(
    username: Annotated[str, Path(max_length=39)],
    caller: CallerDep,
    services: ServicesDep,
    status: PredictorStatus | None = None,
    offset: Offset = None,
    count: Count = None,
) -> list[Predictor]:
    request = UserPredictorsInput(status=status, offset=offset, count=count)
    return await services.predictors.list_by_owner(caller, username, request)


async def search_predictors(
    caller: CallerDep,
    services: ServicesDep,
    query: Annotated[str | None, Query(max_length=200)] = None,
    offset: Offset = None,
    count: Count = None,
) -> list[Predictor]:
    request = PredictorsInput(query=query, offset=offset, count=count)
    return await services.predictors.search(caller, request)


async def create_predictor(
    request: CreatePredictorInput,
    http: Request,
    caller: CallerDep,
    services: ServicesDep,
) -> Predictor:
    return await services.predictors.create(caller, request, base_url(http))


async def delete_predictor(tag: Tag, caller: CallerDep, services: ServicesDep) -> bool:
    return await services.predictors.delete(caller, tag)


async def archive_predictor(
    tag: Tag, caller: CallerDep, services: ServicesDep
) -> Predictor:
    return await services.predictors.archive(caller, tag)


async def create_upload_url(
    request: CreateUploadUrlInput,
    http: Request,
    caller: CallerDep,
    services: ServicesDep,
) -> str:
    return await services.uploads.create_url(caller, request, base_url(http))


async def list_environment_variables(
    caller: CallerDep, services: ServicesDep
) -> list[EnvironmentVariable]:
    return await services.environment_variables.list(caller)


async def create_environment_variable(
    request: CreateEnvironmentVariableInput, caller: CallerDep, services: ServicesDep
) -> EnvironmentVariable:
    return await services.environment_variables.create(caller, request)


async def delete_environment_variable(
    name: Annotated[str, Path(max_length=128)], caller: CallerDep, services: ServicesDep
) -> bool:
    request = parse(DeleteEnvironmentVariableInput, {"name": name})
    return await services.environment_variables.delete(caller, request)


PredictionBody = Annotated[
    dict[str, Any] | None,
    Body(
        description="The inputs by name: plain JSON values, or Value objects "
        "({data, type, shape})."
    ),
]


async def create_prediction(
    tag: Tag,
    http: Request,
    caller: CallerDep,
    services: ServicesDep,
    inputs: PredictionBody = None,
    stream: bool = False,
    data_url_limit: Annotated[str | None, Query(alias="dataUrlLimit")] = None,
    raw_outputs: Annotated[str | None, Query(alias="rawOutputs")] = None,
) -> Prediction:
    limit = values.parse_data_url_limit(data_url_limit)

    async def run(report: OnPrediction | None = None) -> Prediction:
        return await services.predictions.create(
            caller, tag, inputs or {}, limit, base_url(http), report
        )

    if not stream:
        return await run()
    streamed = await stream_prediction(run, http.headers.get("accept"))
    return cast(Prediction, streamed)  # FastAPI sends a Response as it is


async def retrieve_prediction(
    id: Annotated[str, Path(max_length=64)], caller: CallerDep, services: ServicesDep
) -> Prediction:
    return await services.predictions.retrieve(caller, id)


MonthQuery = Annotated[
    str | None,
    Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; this month by default."),
]


async def retrieve_usage(
    caller: CallerDep, services: ServicesDep, month: MonthQuery = None
) -> Usage:
    return await services.usage.retrieve(caller, UsageInput(month=month))


async def export_usage(
    caller: CallerDep, services: ServicesDep, month: MonthQuery = None
) -> Response:
    """Every usage record of a month as CSV (REST only: a file, not data)."""
    text = await services.usage.export_csv(caller, UsageInput(month=month))
    name = f"openfxn-usage-{month or 'this-month'}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def list_authorization_decisions(
    caller: CallerDep, services: ServicesDep, count: Count = None
) -> list[AuthorizationDecision]:
    request = AuthorizationDecisionsInput(count=count)
    return await services.usage.decisions(caller, request)


HANDLERS: dict[str, Callable[..., Any]] = {
    "retrieveCurrentUser": retrieve_current_user,
    "retrieveUser": retrieve_user,
    "updateUser": update_user,
    "rotateAuthorizationSecret": rotate_authorization_secret,
    "listAccessKeys": list_access_keys,
    "createAccessKey": create_access_key,
    "revokeAccessKey": revoke_access_key,
    "retrievePredictor": retrieve_predictor,
    "listPredictors": list_predictors,
    "searchPredictors": search_predictors,
    "createPredictor": create_predictor,
    "deletePredictor": delete_predictor,
    "archivePredictor": archive_predictor,
    "createUploadUrl": create_upload_url,
    "listEnvironmentVariables": list_environment_variables,
    "createEnvironmentVariable": create_environment_variable,
    "deleteEnvironmentVariable": delete_environment_variable,
    "createPrediction": create_prediction,
    "retrievePrediction": retrieve_prediction,
    "retrieveUsage": retrieve_usage,
    "listAuthorizationDecisions": list_authorization_decisions,
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "The request is malformed or an input is invalid."),
        (401, "An access key is needed, or the one sent is not valid."),
        (403, "The caller may see this but not change it."),
        (404, "Not found, or not visible to the caller."),
        (409, "The request clashes with what exists, like a taken tag."),
        (413, "The body is larger than the server accepts."),
        (500, "The server failed; the failure is logged."),
    )
}


def add_routes(app: FastAPI) -> None:
    """One route per operation, straight on the app so that 405s can list them all."""
    for operation in OPERATIONS:
        app.add_api_route(
            operation.path.replace("{tag}", "{tag:path}"),
            HANDLERS[operation.name],
            methods=[operation.method],
            operation_id=operation.name,
            summary=operation.summary,
            status_code=status_of(operation),
            responses=ERROR_RESPONSES,
        )
    app.add_api_route(
        "/usage.csv",
        export_usage,
        methods=["GET"],
        operation_id="exportUsage",
        summary="Every usage record of a month, as CSV.",
        response_class=Response,
        responses={**ERROR_RESPONSES, 200: {"content": {"text/csv": {}}}},
    )


def status_of(operation: Operation) -> int:
    """201 for what a POST creates and keeps; 200 for the rest, predictions
    included, which the official clients expect to answer 200."""
    created = operation.method == "POST" and operation.name != "createPrediction"
    return 201 if created else 200
