from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from openfxn.server.app import redact_url
from openfxn.server.logs import JSONFormatter
from tests.conftest import Account


async def test_health_reports_live_and_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    body = response.json()
    assert response.status_code == 200
    assert body["live"] is True
    assert body["ready"] is True
    assert body["checks"] == {"database": "ok"}


async def test_health_is_503_when_database_is_down(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down() -> None:
        raise ConnectionRefusedError

    monkeypatch.setattr(app.state.database, "ping", down)

    response = await client.get("/health")
    live = await client.get("/health/live")

    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert "ConnectionRefusedError" in response.json()["checks"]["database"]
    assert live.json() == {"live": True}


async def test_metrics_count_requests_by_route(
    client: httpx.AsyncClient, ada: Account
) -> None:
    await client.get("/user", headers=ada.headers)
    await client.get("/users/ada")
    await client.get("/nowhere")

    text = (await client.get("/metrics")).text

    assert (
        'openfxn_http_requests_total{method="GET",route="/user",status="200"} 1.0'
        in text
    )
    assert 'route="/users/{username}"' in text
    assert 'route="unmatched",status="404"' in text
    assert "openfxn_http_request_duration_seconds_bucket" in text


async def test_access_line_names_caller_never_key(
    client: httpx.AsyncClient, ada: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openfxn.access")

    await client.get("/user", headers=ada.headers)
    await client.get("/user", auth=(ada.key, ""))
    await client.post(
        "/graph", json={"query": "{ user { username } }"}, headers=ada.headers
    )

    lines = [record for record in caplog.records if record.name == "openfxn.access"]
    assert [line.getMessage().split()[:3] for line in lines] == [
        ["GET", "/user", "200"],
        ["GET", "/user", "200"],
        ["POST", "/graph", "200"],
    ]
    assert all(line.username == "ada" for line in lines)
    assert ada.key not in caplog.text
    assert ada.key[5:20] not in caplog.text


def test_json_formatter_writes_one_object_with_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "openfxn.access",
            "levelname": "INFO",
            "msg": "GET %s",
            "args": ("/user",),
        }
    )
    record.status = 200

    entry = json.loads(JSONFormatter().format(record))

    assert entry["message"] == "GET /user"
    assert entry["status"] == 200
    assert entry["logger"] == "openfxn.access"
    assert entry["time"].endswith("Z")


def test_database_urls_are_logged_without_password() -> None:
    redacted = redact_url("postgresql+asyncpg://app:hunter2@db:5432/openfxn")

    assert "hunter2" not in redacted
    assert redacted == "postgresql+asyncpg://app:***@db:5432/openfxn"
    assert redact_url("sqlite+aiosqlite:////data/openfxn.db").endswith("openfxn.db")


async def test_unhandled_errors_become_500_envelope(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def explode(*args: object) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr(app.state.services.access_keys, "list", explode)

    response = await client.get("/accessKeys", headers=ada.headers)

    assert response.status_code == 500
    assert "internal detail" not in response.text
    assert response.json()["errors"] == [{"message": response.json()["error"]}]


async def test_access_line_cannot_be_forged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openfxn.access")

    await client.get("/users/a%0aINFO forged 200")

    (line,) = [r for r in caplog.records if r.name == "openfxn.access"]
    assert "\n" not in line.getMessage()
    assert "%0a" in line.getMessage()
