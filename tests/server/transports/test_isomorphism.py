"""Every operation in the list gives the same data over REST and GraphQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
)

from openfxn.server.services.operations import BY_NAME, OPERATIONS
from openfxn.server.transports.graphql.schema import executable_schema
from tests.conftest import Account

# Values that differ between two calls by construction (a new key each time).
VOLATILE = {"id", "key", "hint", "created", "lastUsed"}


@dataclass(frozen=True)
class Case:
    path: str
    "The REST path, with the placeholders of the operation's path filled in."
    graphql: str
    "The root field call, e.g. 'user(input: $input)'."
    variables: dict[str, Any] = field(default_factory=dict)
    declarations: str = ""
    body: dict[str, Any] | None = None
    prepare: (
        Callable[[httpx.AsyncClient, Account], Awaitable[dict[str, str]]] | None
    ) = None


async def new_key_ids(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    """Two fresh keys, one for each transport to revoke."""
    ids = {}
    for name in ("rest", "graphql"):
        response = await client.post(
            "/accessKeys", json={"name": "x"}, headers=account.headers
        )
        ids[name] = response.json()["accessKey"]["id"]
    return ids


CASES: dict[str, Case] = {
    "retrieveCurrentUser": Case("/user", "user"),
    "retrieveUser": Case(
        "/users/ada",
        "user(input: $input)",
        {"input": {"username": "ada"}},
        "($input: UserInput)",
    ),
    "updateUser": Case(
        "/user",
        "updateUser(input: $input)",
        {"input": {"bio": "Poet", "website": "https://ada.dev", "spendLimit": 10.0}},
        "($input: UpdateUserInput!)",
        body={"bio": "Poet", "website": "https://ada.dev", "spendLimit": 10.0},
    ),
    "listAccessKeys": Case("/accessKeys", "accessKeys"),
    "createAccessKey": Case(
        "/accessKeys",
        "createAccessKey(input: $input)",
        {"input": {"name": "ci", "expires": "2099-01-01T00:00:00Z"}},
        "($input: CreateAccessKeyInput!)",
        body={"name": "ci", "expires": "2099-01-01T00:00:00Z"},
    ),
    "revokeAccessKey": Case(
        "/accessKeys/{rest}",
        "revokeAccessKey(input: {id: $id})",
        {"id": "{graphql}"},
        "($id: ID!)",
        prepare=new_key_ids,
    ),
}


def test_every_operation_has_a_case() -> None:
    assert set(CASES) == set(BY_NAME)


def selection(type_: GraphQLOutputType) -> str:
    """Every field of ``type_`` that takes no arguments, recursively."""
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    if isinstance(type_, GraphQLInterfaceType):
        # Every profile is a user for now; select through the concrete type.
        return " { ... on User" + selection(executable_schema().get_type("User")) + " }"
    if not isinstance(type_, GraphQLObjectType):
        return ""
    fields = [
        name + selection(definition.type)
        for name, definition in type_.fields.items()
        if not definition.args
        and definition.deprecation_reason is None
        and name != "environmentVariables"
    ]
    return " { " + " ".join(fields) + " }"


def normalize(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: "<volatile>" if k in VOLATILE else normalize(v) for k, v in data.items()
        }
    if isinstance(data, list):
        return [normalize(item) for item in data]
    return data


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.name)
async def test_rest_and_graphql_agree(
    client: httpx.AsyncClient, ada: Account, operation: Any
) -> None:
    case = CASES[operation.name]
    fills = await case.prepare(client, ada) if case.prepare else {}
    type_name, field_name = operation.graphql.split(".")
    root = executable_schema().get_type(type_name)
    assert isinstance(root, GraphQLObjectType)
    document = (
        f"{'query' if type_name == 'Query' else 'mutation'} {case.declarations} "
        f"{{ result: {case.graphql}{selection(root.fields[field_name].type)} }}"
    )
    variables = {
        k: v.format(**fills) if isinstance(v, str) else v
        for k, v in case.variables.items()
    }

    rest = await client.request(
        operation.method, case.path.format(**fills), json=case.body, headers=ada.headers
    )
    graphql = await client.post(
        "/graph", json={"query": document, "variables": variables}, headers=ada.headers
    )

    assert rest.is_success, rest.text
    assert "errors" not in graphql.json(), graphql.text
    assert normalize(rest.json()) == normalize(graphql.json()["data"]["result"])
