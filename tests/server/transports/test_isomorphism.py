"""Every operation in the list gives the same data over REST and GraphQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
)

from openfxn.server.services.operations import BY_NAME, OPERATIONS, Operation
from openfxn.server.transports.graphql.schema import executable_schema
from tests.conftest import Account
from tests.server.services.test_predictors import GREETING, create, upload

# Values that differ between two calls by construction (a new key each time).
VOLATILE = {"id", "key", "hint", "created", "lastUsed", "latency", "coldStart"}
# The one concrete type behind each interface, selected through a fragment.
CONCRETE = {"Profile": "User", "Prediction": "CloudPrediction"}


Prepare = Callable[[FastAPI, httpx.AsyncClient, Account], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class Case:
    path: str
    "The REST path; {rest} and {graphql} are filled from ``prepare``."
    graphql: str
    "The field call, e.g. 'user(input: $input)'; {graphql} is filled in."
    variables: dict[str, Any] = field(default_factory=dict)
    declarations: str = ""
    body: dict[str, Any] | None = None
    prepare: Prepare | None = None
    differ: frozenset[str] = frozenset()
    "Fields that differ because each transport made its own thing."


def pair(make: Callable[..., Awaitable[str]]) -> Prepare:
    """Two of a thing, one for each transport to act on."""

    async def prepare(
        app: FastAPI, client: httpx.AsyncClient, account: Account
    ) -> dict[str, str]:
        return {
            name: await make(app, client, account, name) for name in ("rest", "graphql")
        }

    return prepare


async def a_predictor(
    app: FastAPI, client: httpx.AsyncClient, account: Account, name: str
) -> str:
    predictor = await create(app, client, account, tag=f"@ada/{name}", access="PUBLIC")
    return str(predictor["tag"])


async def an_authorization_url(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> dict[str, str]:
    url = "https://authorize.example/fxn"
    made = await client.patch(
        "/user", json={"authorizationUrl": url}, headers=account.headers
    )
    assert made.json()["authorizationSecret"].startswith("whsec_")
    return {}


async def a_variable(
    app: FastAPI, client: httpx.AsyncClient, account: Account, name: str
) -> str:
    await client.post(
        "/environmentVariables",
        json={"name": name.upper(), "value": "v"},
        headers=account.headers,
    )
    return name.upper()


async def one_predictor(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> dict[str, str]:
    tag = await a_predictor(app, client, account, "shared")
    return {"rest": tag, "graphql": tag}


async def two_sources(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> dict[str, str]:
    return {
        name: await upload(client, account, GREETING.encode(), "p.py", "NOTEBOOK")
        for name in ("rest", "graphql")
    }


async def new_key_ids(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> dict[str, str]:
    """Two fresh keys, one for each transport to revoke."""
    ids = {}
    for name in ("rest", "graphql"):
        response = await client.post(
            "/accessKeys", json={"name": "x"}, headers=account.headers
        )
        ids[name] = response.json()["accessKey"]["id"]
    return ids


async def one_prediction(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> dict[str, str]:
    tag = await a_predictor(app, client, account, "predicted")
    made = await client.post(
        f"/predict/{tag}", json={"name": "Ada"}, headers=account.headers
    )
    return {"rest": made.json()["id"], "graphql": made.json()["id"]}


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
    "rotateAuthorizationSecret": Case(
        "/user/authorizationSecret",
        "rotateAuthorizationSecret",
        body={},
        prepare=an_authorization_url,
        differ=frozenset({"authorizationSecret"}),
    ),
    "listAccessKeys": Case("/accessKeys", "accessKeys"),
    "listAuthorizationDecisions": Case(
        "/user/authorizationDecisions?count=5",
        "authorizationDecisions(input: $input)",
        {"input": {"count": 5}},
        "($input: AuthorizationDecisionsInput)",
    ),
    "retrieveUsage": Case(
        "/usage?month=2026-12",
        "usage(input: $input)",
        {"input": {"month": "2026-12"}},
        "($input: UsageInput)",
    ),
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
    "retrievePredictor": Case(
        "/predictors/{rest}",
        "predictor(input: {tag: $tag})",
        {"tag": "{graphql}"},
        "($tag: Tag!)",
        prepare=one_predictor,
    ),
    "listPredictors": Case(
        "/users/ada/predictors?status=ACTIVE&count=5",
        "predictors(input: {status: ACTIVE, count: 5})",
        prepare=one_predictor,
    ),
    "searchPredictors": Case(
        "/predictors?query=shared&count=5",
        'predictors(input: {query: "shared", count: 5})',
        prepare=one_predictor,
    ),
    "createPredictor": Case(
        "/predictors",
        "createPredictor(input: {tag: $tag, notebook: $notebook})",
        {"tag": "@ada/made-by-graphql", "notebook": "{graphql}"},
        "($tag: Tag!, $notebook: URL!)",
        body={"tag": "@ada/made-by-rest", "notebook": "{rest}"},
        prepare=two_sources,
        differ=frozenset({"tag", "name"}),
    ),
    "deletePredictor": Case(
        "/predictors/{rest}",
        "deletePredictor(input: {tag: $tag})",
        {"tag": "{graphql}"},
        "($tag: Tag!)",
        prepare=pair(a_predictor),
    ),
    "archivePredictor": Case(
        "/predictors/{rest}/archive",
        "archivePredictor(input: {tag: $tag})",
        {"tag": "{graphql}"},
        "($tag: Tag!)",
        prepare=pair(a_predictor),
        differ=frozenset({"tag", "name"}),
    ),
    "createUploadUrl": Case(
        "/uploads",
        'createUploadUrl(input: {name: "a.png", type: MEDIA, key: "k"})',
        body={"name": "a.png", "type": "MEDIA", "key": "k"},
    ),
    "listEnvironmentVariables": Case(
        "/environmentVariables", "environmentVariables", prepare=pair(a_variable)
    ),
    "createEnvironmentVariable": Case(
        "/environmentVariables",
        'createEnvironmentVariable(input: {name: "HF_TOKEN", value: "x"})',
        body={"name": "HF_TOKEN", "value": "x"},
    ),
    "createPrediction": Case(
        "/predict/{rest}",
        "createPrediction(input: {tag: $tag, client: $client, inputs: $inputs})",
        {
            "tag": "{graphql}",
            "client": "test",
            "inputs": [{"name": "name", "data": "data:,Ada", "type": "string"}],
        },
        "($tag: Tag!, $client: Client!, $inputs: [ValueInput!])",
        body={"name": "Ada"},
        prepare=one_predictor,
    ),
    "retrievePrediction": Case(
        "/predictions/{rest}",
        "prediction(id: $id)",
        {"id": "{graphql}"},
        "($id: ID!)",
        prepare=one_prediction,
    ),
    "deleteEnvironmentVariable": Case(
        "/environmentVariables/{rest}",
        "deleteEnvironmentVariable(input: {name: $name})",
        {"name": "{graphql}"},
        "($name: String!)",
        prepare=pair(a_variable),
    ),
}


def test_every_operation_has_a_case() -> None:
    assert set(CASES) == set(BY_NAME)


def selection(type_: GraphQLOutputType) -> str:
    """Every field of ``type_`` that takes no arguments, recursively."""
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    if isinstance(type_, GraphQLInterfaceType):
        concrete = CONCRETE[type_.name]
        inner = selection(executable_schema().get_type(concrete))
        return f" {{ ... on {concrete}{inner} }}"
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


def normalize(data: Any, differ: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {
            key: "<differs>" if key in VOLATILE | differ else normalize(value, differ)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [normalize(item, differ) for item in data]
    if isinstance(data, str) and "?expires=" in data:
        return data.split("?")[0]  # a signed URL: its signature carries the time
    return data


def fill(value: Any, fills: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in fills.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {key: fill(item, fills) for key, item in value.items()}
    return value


def document_for(operation: Operation, case: Case, fills: dict[str, str]) -> str:
    type_name, field_name = operation.graphql.split(".")
    parent = executable_schema().get_type(type_name)
    assert isinstance(parent, GraphQLObjectType)
    call = fill(case.graphql, fills) + selection(parent.fields[field_name].type)
    if type_name == "User":  # a field of the caller's account
        user = f"user {{ ... on User {{ result: {call} }} }}"
        return f"query {case.declarations} {{ {user} }}"
    kind = "query" if type_name == "Query" else "mutation"
    return f"{kind} {case.declarations} {{ result: {call} }}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.name)
async def test_rest_and_graphql_agree(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, operation: Operation
) -> None:
    case = CASES[operation.name]
    fills = await case.prepare(app, client, ada) if case.prepare else {}

    rest = await client.request(
        operation.method,
        fill(case.path, fills),
        json=fill(case.body, fills),
        headers=ada.headers,
    )
    graphql = await client.post(
        "/graph",
        json={
            "query": document_for(operation, case, fills),
            "variables": fill(case.variables, fills),
        },
        headers=ada.headers,
    )

    assert rest.is_success, rest.text
    assert "errors" not in graphql.json(), graphql.text
    data = graphql.json()["data"]
    result = data["user"]["result"] if "user" in data else data["result"]
    assert normalize(rest.json(), case.differ) == normalize(result, case.differ)
