"""The REST transport: one thin handler per operation, wired from the list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from pydantic import BaseModel

from openfxn.server.auth.callers import Caller
from openfxn.server.services import Services
from openfxn.server.services.models import (
    AccessKey,
    CreateAccessKeyInput,
    NewAccessKey,
    RevokeAccessKeyInput,
    UpdateUserInput,
    User,
)
from openfxn.server.services.operations import OPERATIONS


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


HANDLERS: dict[str, Callable[..., Any]] = {
    "retrieveCurrentUser": retrieve_current_user,
    "retrieveUser": retrieve_user,
    "updateUser": update_user,
    "listAccessKeys": list_access_keys,
    "createAccessKey": create_access_key,
    "revokeAccessKey": revoke_access_key,
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "The request is malformed or an input is invalid."),
        (401, "An access key is needed, or the one sent is not valid."),
        (404, "Not found, or not visible to the caller."),
        (413, "The body is larger than the server accepts."),
        (500, "The server failed; the failure is logged."),
    )
}


def add_routes(app: FastAPI) -> None:
    """One route per operation, straight on the app so that 405s can list them all."""
    for operation in OPERATIONS:
        app.add_api_route(
            operation.path,
            HANDLERS[operation.name],
            methods=[operation.method],
            operation_id=operation.name,
            summary=operation.summary,
            status_code=201 if operation.method == "POST" else 200,
            responses=ERROR_RESPONSES,
        )
