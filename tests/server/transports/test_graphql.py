from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import build_schema, find_breaking_changes, parse, validate

from openfxn.server.transports.graphql.schema import executable_schema, sdl
from tests.conftest import SHARED_SPEC, SPEC, Account


async def post(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    return await client.post("/graph", json=body, **kwargs)


def test_schema_keeps_the_compatibility_sdl() -> None:
    reference = build_schema((SPEC / "schema.graphql").read_text())

    assert find_breaking_changes(reference, build_schema(sdl())) == []


def test_official_client_documents_validate() -> None:
    documents = json.loads((SPEC / "official-client-documents.json").read_text())
    schema = executable_schema()

    failures = {
        entry["document"]: [error.message for error in errors]
        for entry in documents
        if (errors := validate(schema, parse(entry["document"])))
    }

    assert len(documents) >= 20
    assert failures == {}


@pytest.mark.parametrize("name", ["schema.graphql", "official-client-documents.json"])
def test_spec_copies_match_the_shared_spec(name: str) -> None:
    if not SHARED_SPEC.is_dir():
        pytest.skip(f"no shared spec beside this checkout ({SHARED_SPEC})")

    assert (SPEC / name).read_text() == (SHARED_SPEC / name).read_text()


async def test_undeclared_variables_are_ignored(
    client: httpx.AsyncClient, ada: Account
) -> None:
    # fxn 0.0.26 users.retrieve() sends variables its document never declares.
    response = await post(
        client,
        {
            "query": "query { user { username ... on User { email } } }",
            "variables": {"input": {"username": None}},
        },
        headers=ada.headers,
    )

    assert response.json() == {
        "data": {"user": {"username": "ada", "email": "ada@example.com"}}
    }


async def test_aliases_fragments_and_variables(
    client: httpx.AsyncClient, ada: Account
) -> None:
    query = """
      query ($who: UserInput) {
        me: user { ...names }
        other: user(input: $who) { who: username }
      }
      fragment names on Profile { username ... on User { email } }
    """

    response = await post(
        client,
        {"query": query, "variables": {"who": {"username": "ada"}}},
        headers=ada.headers,
    )

    assert response.json() == {
        "data": {
            "me": {"username": "ada", "email": "ada@example.com"},
            "other": {"who": "ada"},
        }
    }


async def test_operation_name_selects_the_operation(
    client: httpx.AsyncClient, ada: Account
) -> None:
    query = "query A { user { username } } query B { accessKeys { name } }"

    response = await post(
        client, {"query": query, "operationName": "B"}, headers=ada.headers
    )

    assert response.json() == {"data": {"accessKeys": [{"name": "test"}]}}


async def test_syntax_errors_come_with_http_200(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ user { "})

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert "Syntax Error" in response.json()["errors"][0]["message"]


async def test_unknown_fields_are_validation_errors(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ nothing }"})

    assert response.status_code == 200
    assert "nothing" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "'query' string"),
        (b'{"query": 5}', "'query' string"),
        (b'{"query": "{ user { username } }", "variables": [1]}', "'variables'"),
        (b'{"query": "{ user { username } }", "operationName": 1}', "'operationName'"),
    ],
)
async def test_malformed_requests_get_400_envelope(
    client: httpx.AsyncClient, body: bytes, problem: str
) -> None:
    response = await client.post(
        "/graph", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert problem in response.json()["error"]
    assert response.json()["errors"] == [{"message": response.json()["error"]}]


async def test_depth_limit_is_enforced(client: httpx.AsyncClient) -> None:
    nested = "user { predictors { owner { " * 6 + "username" + " } } }" * 6

    response = await post(client, {"query": "{ " + nested + " }"})

    assert "levels deep" in response.json()["errors"][0]["message"]


async def test_alias_limit_is_enforced(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f"a{index}: user {{ username }}" for index in range(51))

    response = await post(client, {"query": "{ " + aliases + " }"})

    assert "aliases" in response.json()["errors"][0]["message"]


async def test_token_limit_is_enforced(client: httpx.AsyncClient) -> None:
    query = "{ user { " + "username " * 10_000 + "} }"

    response = await post(client, {"query": query})

    assert "more than 10000 tokens" in response.json()["errors"][0]["message"]


async def test_fragment_cycles_do_not_hang(client: httpx.AsyncClient) -> None:
    query = (
        "{ user { ...A } } fragment A on Profile { ...B } "
        "fragment B on Profile { ...A }"
    )

    response = await post(client, {"query": query})

    assert response.status_code == 200
    assert response.json()["errors"]


async def test_anonymous_prediction_asks_for_a_key(client: httpx.AsyncClient) -> None:
    query = (
        'mutation { createPrediction(input: {tag: "@a/b", client: "linux"}) { id } }'
    )
    response = await post(client, {"query": query})

    error = response.json()["errors"][0]
    assert response.status_code == 200
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "access key" in error["message"]


async def test_resolver_crash_hides_the_traceback(
    client: httpx.AsyncClient,
    ada: Account,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def explode(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(
        client._transport.app.state.services.access_keys, "list", explode
    )  # type: ignore[attr-defined]

    response = await post(
        client, {"query": "{ accessKeys { name } }"}, headers=ada.headers
    )

    message = response.json()["errors"][0]["message"]
    assert response.status_code == 200
    assert "secret internals" not in response.text
    assert "logged" in message
    assert "secret internals" in caplog.text


async def test_mutations_reject_invalid_input_by_field(
    client: httpx.AsyncClient, ada: Account
) -> None:
    response = await post(
        client,
        {"query": 'mutation { updateUser(input: {website: "nope"}) { username } }'},
        headers=ada.headers,
    )

    error = response.json()["errors"][0]
    assert "website:" in error["message"]
    assert error["extensions"]["status"] == 400


async def test_graphql_is_also_served_at_graphql(
    client: httpx.AsyncClient, ada: Account
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ user { username } }"}, headers=ada.headers
    )

    assert response.json() == {"data": {"user": {"username": "ada"}}}
