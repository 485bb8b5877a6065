"""Every non-2xx reply, from every endpoint, is the one JSON error envelope."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Match, Route

from openfxn.server.services.operations import OPERATIONS
from openfxn.server.settings import Settings
from tests.conftest import Account

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def assert_envelope(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("application/json"), (
        response.text
    )
    body = response.json()
    assert set(body) == {"error", "errors"}, body
    assert isinstance(body["error"], str)
    assert body["error"].endswith((".", ")")), body["error"]
    assert body["errors"] == [{"message": body["error"]}]


def concrete(path: str) -> str:
    for placeholder, value in (
        ("{username}", "ada"),
        ("{id}", "key_x"),
        ("{tag:path}", "@ada/x"),
        ("{tag}", "@ada/x"),
        ("{name}", "X"),
        ("{path:path}", "ada/media/k/a.png"),
    ):
        path = path.replace(placeholder, value)
    return path


def routes(app: FastAPI) -> list[Route]:
    return [route for route in app.routes if isinstance(route, Route)]


def served(app: FastAPI, method: str, path: str) -> bool:
    """Whether some route serves ``method`` at ``path`` (paths can overlap)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in routes(app))


async def test_wrong_methods_get_405_envelope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    checked = 0
    for route in routes(app):
        path = concrete(route.path)
        for method in ALL_METHODS:
            if served(app, method, path):
                continue
            response = await client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert_envelope(response)
            checked += 1
    assert checked > 10


async def test_unknown_paths_get_404_envelope(client: httpx.AsyncClient) -> None:
    for path in ("/nope", "/users", "/accessKeys/a/b", "/graph/x", "/predict"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert_envelope(response)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.name)
async def test_operations_without_caller_get_envelope(
    client: httpx.AsyncClient, operation: object
) -> None:
    response = await client.request(
        operation.method,  # type: ignore[attr-defined]
        concrete(operation.path),  # type: ignore[attr-defined]
        json={"name": "x"},
    )

    if response.is_success:
        return  # a public operation, such as a profile
    assert response.status_code in (400, 401, 404)  # invalid input may come first
    assert_envelope(response)
    if response.status_code == 401:
        assert "Bearer" in response.headers["www-authenticate"]


@pytest.mark.parametrize("path", ["/user", "/accessKeys"])
async def test_malformed_json_gets_400_envelope(
    client: httpx.AsyncClient, ada: Account, path: str
) -> None:
    method = "PATCH" if path == "/user" else "POST"
    headers = {**ada.headers, "Content-Type": "application/json"}

    response = await client.request(method, path, content=b"{oops", headers=headers)

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert_envelope(response)


async def test_non_json_body_names_the_content_type(
    client: httpx.AsyncClient, ada: Account
) -> None:
    response = await client.post("/accessKeys", data={"name": "x"}, headers=ada.headers)

    assert response.status_code == 400
    assert "application/json" in response.json()["error"]
    assert_envelope(response)


async def test_malformed_credentials_get_401_envelope(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Authorization": "Digest x"}
    rest = await client.get("/user", headers=headers)
    graphql = await client.post(
        "/graph", json={"query": "{ user { username } }"}, headers=headers
    )

    for response in (rest, graphql):
        assert response.status_code == 401
        assert_envelope(response)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": 2048})


@pytest.mark.parametrize("path", ["/graph", "/accessKeys", "/user"])
async def test_oversized_bodies_get_413_envelope(
    client: httpx.AsyncClient, ada: Account, path: str
) -> None:
    body = b'{"name": "' + b"x" * 4096 + b'"}'

    declared = await client.post(path, content=body, headers=ada.headers)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(4):
            yield b"x" * 1024

    chunked = await client.post(path, content=chunks(), headers=ada.headers)

    for response in (declared, chunked):
        assert response.status_code == 413
        assert "OPENFXN_MAX_BODY_BYTES" in response.json()["error"]
        assert_envelope(response)


async def test_small_chunked_bodies_pass_the_limit(
    client: httpx.AsyncClient, ada: Account
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": '
        yield b'"chunked"}'

    response = await client.post(
        "/accessKeys",
        content=chunks(),
        headers={**ada.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 201
