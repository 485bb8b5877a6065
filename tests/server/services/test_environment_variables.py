"""Secrets: write-only over both transports, sealed at rest, copied to new
predictors, and never seen in the database, the logs or any response."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from openfxn.server.secrets import SecretError
from openfxn.server.services.environment_variables import predictor_scope
from openfxn.server.store.tables import EnvironmentVariable, Predictor
from tests.conftest import Account
from tests.server.services.test_predictors import create

NEEDS_TOKEN = """
import os
if len(os.environ.get("API_TOKEN", "")) != 36:
    raise RuntimeError("API_TOKEN is missing")

def predict() -> str:
    return "ok"
"""

LEAKS_TOKEN = """
import os
token = os.environ["API_TOKEN"]
print("loaded with", token)
raise RuntimeError(f"refusing to start with {token}")
"""


async def set_variable(
    client: httpx.AsyncClient, account: Account, name: str, value: str
) -> httpx.Response:
    return await client.post(
        "/environmentVariables",
        json={"name": name, "value": value},
        headers=account.headers,
    )


async def test_variables_are_write_only(
    client: httpx.AsyncClient, ada: Account
) -> None:
    created = await set_variable(client, ada, "HF_TOKEN", "hf_canary_value")
    listed = await client.get("/environmentVariables", headers=ada.headers)
    graphql = await client.post(
        "/graph",
        json={"query": "{ user { ... on User { environmentVariables { name } } } }"},
        headers=ada.headers,
    )

    assert created.json() == {"name": "HF_TOKEN"}
    assert listed.json() == [{"name": "HF_TOKEN"}]
    assert graphql.json() == {
        "data": {"user": {"environmentVariables": [{"name": "HF_TOKEN"}]}}
    }


async def test_delete_variable(client: httpx.AsyncClient, ada: Account) -> None:
    await set_variable(client, ada, "A", "1")

    deleted = await client.delete("/environmentVariables/A", headers=ada.headers)
    again = await client.delete("/environmentVariables/A", headers=ada.headers)

    assert deleted.json() is True
    assert again.status_code == 404


async def test_bad_variable_names_are_refused(
    client: httpx.AsyncClient, ada: Account
) -> None:
    for name in ("1ABC", "A-B", "", "A B"):
        response = await set_variable(client, ada, name, "x")
        assert response.status_code == 400, name
        assert "name:" in response.json()["error"]


async def test_organizations_are_not_found(
    client: httpx.AsyncClient, ada: Account
) -> None:
    response = await client.post(
        "/environmentVariables",
        json={"name": "A", "value": "1", "organization": "acme"},
        headers=ada.headers,
    )

    assert response.status_code == 404
    assert "acme" in response.json()["error"]


async def test_predictor_gets_variables_of_its_creation(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    before = await create(app, client, ada, NEEDS_TOKEN, tag="@ada/before")
    await set_variable(client, ada, "API_TOKEN", str(uuid.uuid4()))
    after = await create(app, client, ada, NEEDS_TOKEN, tag="@ada/after")
    await client.delete("/environmentVariables/API_TOKEN", headers=ada.headers)
    again = await create(app, client, ada, NEEDS_TOKEN, tag="@ada/again")

    assert before["status"] == "INVALID"
    assert after["status"] == "ACTIVE", after["error"]
    assert again["status"] == "INVALID"


async def test_own_environment_at_creation(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    environment = [{"name": "API_TOKEN", "value": str(uuid.uuid4())}]

    predictor = await create(app, client, ada, NEEDS_TOKEN, environment=environment)

    assert predictor["status"] == "ACTIVE", predictor["error"]


async def test_canary_appears_nowhere(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = str(uuid.uuid4())
    responses = [await set_variable(client, ada, "API_TOKEN", canary)]
    predictor = await create(app, client, ada, NEEDS_TOKEN)
    leaky = await create(app, client, ada, LEAKS_TOKEN, tag="@ada/leaky")
    responses += [
        await client.get("/environmentVariables", headers=ada.headers),
        await client.get("/predictors/@ada/greeting", headers=ada.headers),
        await client.get("/predictors/@ada/leaky", headers=ada.headers),
        await client.post(
            "/graph",
            json={
                "query": "{ user { ... on User { environmentVariables { name } } } }"
            },
            headers=ada.headers,
        ),
    ]

    async with app.state.database.read() as session:
        tables = ("environment_variables", "predictors", "accounts", "access_keys")
        dump = [
            repr((await session.execute(text(f"SELECT * FROM {t}"))).all())
            for t in tables
        ]

    assert predictor["status"] == "ACTIVE"
    assert leaky["status"] == "INVALID"
    assert "refusing to start with [secret API_TOKEN]" in leaky["error"]
    assert "loaded with [secret API_TOKEN]" in leaky["log"]
    assert all(canary not in response.text for response in responses)
    assert all(canary not in table for table in dump)
    assert canary not in caplog.text
    assert canary not in str(predictor)
    for path in app.state.settings.data.glob("openfxn.db*"):  # SQLite's files, WAL too
        assert canary.encode() not in path.read_bytes()


async def test_sealed_value_moved_to_another_predictor_fails(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    environment = [{"name": "API_TOKEN", "value": str(uuid.uuid4())}]
    await create(app, client, ada, NEEDS_TOKEN, tag="@ada/one", environment=environment)
    await create(app, client, ada, NEEDS_TOKEN, tag="@ada/two", environment=environment)
    services = app.state.services
    async with app.state.database.write() as session:
        one, two = (
            await session.scalars(select(Predictor).order_by(Predictor.id))
        ).all()
        rows = {
            row.scope: row for row in await session.scalars(select(EnvironmentVariable))
        }
        rows[predictor_scope(two.id)].sealed = rows[predictor_scope(one.id)].sealed

    async with app.state.database.read() as session:
        variables = services.environment_variables
        assert await variables.values(session, one.owner_id, predictor_scope(one.id))
        with pytest.raises(SecretError):
            await variables.values(session, two.owner_id, predictor_scope(two.id))
