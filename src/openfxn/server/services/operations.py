"""The list of operations: each exists once here, and on both transports.

REST routes and GraphQL resolvers are wired from this list (a transport that
lacks a handler for an operation fails at start-up), the API reference in
``docs/api.md`` is checked against it, and a test walks it to assert that
both transports return the same data for the same request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    "camelCase name; also the REST operationId."
    graphql: str
    "The GraphQL field that serves it, as 'Type.field'."
    method: str
    path: str
    summary: str


OPERATIONS = (
    Operation(
        "retrieveCurrentUser",
        "Query.user",
        "GET",
        "/user",
        "The caller's own account.",
    ),
    Operation(
        "retrieveUser",
        "Query.user",
        "GET",
        "/users/{username}",
        "A user's public profile (with email when it is the caller's own).",
    ),
    Operation(
        "updateUser",
        "Mutation.updateUser",
        "PATCH",
        "/user",
        "Change the caller's profile; null clears a field, a missing one is kept.",
    ),
    Operation(
        "listAccessKeys",
        "Query.accessKeys",
        "GET",
        "/accessKeys",
        "The caller's active access keys, without their secrets.",
    ),
    Operation(
        "createAccessKey",
        "Mutation.createAccessKey",
        "POST",
        "/accessKeys",
        "Create an access key; the reply shows the key once.",
    ),
    Operation(
        "revokeAccessKey",
        "Mutation.revokeAccessKey",
        "DELETE",
        "/accessKeys/{id}",
        "Revoke one of the caller's access keys; it stops working at once.",
    ),
)

BY_NAME = {operation.name: operation for operation in OPERATIONS}
