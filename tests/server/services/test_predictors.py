"""Predictors end to end in process: upload, create, provision for real, read."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from openfxn.server.store.tables import Predictor
from tests.conftest import Account, MakeAccount

GREETING = '''
def predict(name: str) -> str:
    """Say hello.

    Args:
        name: Who to greet.
    """
    return f"Hello, {name}!"
'''


def notebook(*cells: tuple[str, str]) -> bytes:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": text}
                | ({"outputs": [], "execution_count": None} if kind == "code" else {})
                for kind, text in cells
            ],
        }
    ).encode()


async def upload(
    client: httpx.AsyncClient, account: Account, data: bytes, name: str, kind: str
) -> str:
    response = await client.post(
        "/uploads", json={"name": name, "type": kind}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    url: str = response.json()
    put = await client.put(url.removeprefix("http://test"), content=data)
    assert put.status_code == 200, put.text
    return url


async def create(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    source: bytes | str = GREETING,
    name: str = "predictor.py",
    tag: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create a predictor from an upload and wait until it provisioned."""
    data = source.encode() if isinstance(source, str) else source
    url = await upload(client, account, data, name, "NOTEBOOK")
    response = await client.post(
        "/predictors",
        json={"tag": tag or f"@{account.username}/greeting", "notebook": url, **fields},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "PROVISIONING"
    await app.state.provisioner.wait()
    return await retrieve(client, account, response.json()["tag"])


async def retrieve(
    client: httpx.AsyncClient, account: Account, tag: str
) -> dict[str, Any]:
    response = await client.get(f"/predictors/{tag}", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_python_file_becomes_active_with_signature(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    predictor = await create(app, client, ada)

    assert predictor["status"] == "ACTIVE", predictor["error"]
    assert predictor["error"] is None
    (parameter,) = predictor["signature"]["inputs"]
    assert parameter["name"] == "name"
    assert parameter["type"] == "string"
    assert parameter["description"] == "Who to greet."
    assert predictor["signature"]["outputs"][0]["type"] == "string"
    assert predictor["access"] == "PRIVATE"
    assert predictor["acceleration"] == "CPU"
    assert predictor["owner"]["username"] == "ada"


async def test_notebook_gives_card_and_module(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    source = notebook(
        ("markdown", "# Greeter\nSays hello."),
        ("code", "%fxn python 3.11\nGREETING = 'Hi'"),
        ("code", "def predict(name: str) -> str:\n    return f'{GREETING} {name}'"),
        ("code", "raise RuntimeError('cells after predict are ignored')"),
    )

    predictor = await create(app, client, ada, source, "greeter.ipynb")

    assert predictor["status"] == "ACTIVE", predictor["error"]
    assert predictor["card"] == "# Greeter\nSays hello."
    assert "%fxn python 3.11" in predictor["log"]


async def test_data_url_source_is_accepted(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    url = "data:text/x-python;base64," + base64.b64encode(GREETING.encode()).decode()

    response = await client.post(
        "/predictors", json={"tag": "@ada/inline", "notebook": url}, headers=ada.headers
    )
    await app.state.provisioner.wait()

    assert response.status_code == 201, response.text
    assert (await retrieve(client, ada, "@ada/inline"))["status"] == "ACTIVE"


async def test_multipart_upload_creates_predictor(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    response = await client.post(
        "/predictors/upload",
        data={"tag": "@ada/form", "access": "PUBLIC"},
        files={"notebook": ("predictor.py", GREETING.encode(), "text/x-python")},
        headers=ada.headers,
    )
    await app.state.provisioner.wait()

    assert response.status_code == 201, response.text
    predictor = await retrieve(client, ada, "@ada/form")
    assert predictor["status"] == "ACTIVE"
    assert predictor["access"] == "PUBLIC"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("x = 1\n", "predict"),
        ("def predict(:\n    pass\n", "line 1"),
        (
            "import not_a_module_anywhere\ndef predict(): pass\n",
            "not_a_module_anywhere",
        ),
        (
            "raise ValueError('broken at import')\ndef predict(): pass\n",
            "broken at import",
        ),
    ],
)
async def test_broken_sources_become_invalid_with_reason(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, source: str, problem: str
) -> None:
    predictor = await create(app, client, ada, source)

    assert predictor["status"] == "INVALID"
    assert problem in predictor["error"]


async def test_shell_line_in_notebook_is_named(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    source = notebook(("code", "!apt-get install -y ffmpeg\ndef predict(): pass"))

    predictor = await create(app, client, ada, source, "predictor.ipynb")

    assert predictor["status"] == "INVALID"
    assert "apt-get install -y ffmpeg" in predictor["error"]


async def test_notebook_errors_name_the_cell_and_line(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    source = notebook(
        ("markdown", "# Broken"),
        ("code", "import os"),
        (
            "code",
            "size = 3\nratio = size / 0\n\ndef predict() -> float:\n    return ratio",
        ),
    )

    predictor = await create(app, client, ada, source, "predictor.ipynb")

    assert predictor["status"] == "INVALID"
    assert "ZeroDivisionError" in predictor["error"]
    assert "cell 3, line 2, at module level: ratio = size / 0" in predictor["error"]


async def test_taken_tag_needs_overwrite(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    await create(app, client, ada)
    url = await upload(
        client, ada, b"def predict() -> int:\n    return 1\n", "p.py", "NOTEBOOK"
    )
    body = {"tag": "@ada/greeting", "notebook": url}

    taken = await client.post("/predictors", json=body, headers=ada.headers)
    replaced = await client.post(
        "/predictors", json={**body, "overwrite": True}, headers=ada.headers
    )
    await app.state.provisioner.wait()

    assert taken.status_code == 409
    assert "overwrite" in taken.json()["error"]
    assert replaced.status_code == 201
    predictor = await retrieve(client, ada, "@ada/greeting")
    assert predictor["signature"]["inputs"] == []


async def test_visibility_follows_access_mode(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, make_account: MakeAccount
) -> None:
    bob = await make_account("bob")
    for access in ("PUBLIC", "PRIVATE", "PROTECTED"):
        await create(app, client, ada, tag=f"@ada/{access.lower()}", access=access)

    seen = {
        access: (await client.get(f"/predictors/@ada/{access}", headers=bob.headers))
        for access in ("public", "private", "protected")
    }
    listed = (await client.get("/users/ada/predictors", headers=bob.headers)).json()
    searched = (await client.get("/predictors", headers=bob.headers)).json()
    own = (await client.get("/users/ada/predictors", headers=ada.headers)).json()

    assert seen["public"].status_code == seen["protected"].status_code == 200
    assert seen["private"].status_code == 404
    assert [p["tag"] for p in listed] == ["@ada/public"]
    assert [p["tag"] for p in searched] == ["@ada/public"]
    assert sorted(p["tag"] for p in own) == [
        "@ada/private",
        "@ada/protected",
        "@ada/public",
    ]


async def test_search_matches_query(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    await create(
        app, client, ada, tag="@ada/translate", access="PUBLIC", description="French"
    )
    await create(app, client, ada, tag="@ada/other", access="PUBLIC")

    by_tag = (await client.get("/predictors", params={"query": "transl"})).json()
    by_description = (
        await client.get("/predictors", params={"query": "french"})
    ).json()

    assert [p["tag"] for p in by_tag] == ["@ada/translate"]
    assert [p["tag"] for p in by_description] == ["@ada/translate"]


async def test_archive_hides_from_active_list(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    await create(app, client, ada, access="PUBLIC")

    archived = await client.post(
        "/predictors/@ada/greeting/archive", headers=ada.headers
    )
    active = (await client.get("/users/ada/predictors", headers=ada.headers)).json()
    listed = await client.get(
        "/users/ada/predictors", params={"status": "ARCHIVED"}, headers=ada.headers
    )

    assert archived.json()["status"] == "ARCHIVED"
    assert active == []
    assert [p["tag"] for p in listed.json()] == ["@ada/greeting"]


async def test_delete_refused_for_used_public_predictor(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    await create(app, client, ada, access="PUBLIC")
    async with app.state.database.write() as session:
        await session.execute(update(Predictor).values(predictions=3))

    refused = await client.delete("/predictors/@ada/greeting", headers=ada.headers)

    assert refused.status_code == 409
    assert "archive it instead" in refused.json()["error"]


async def test_delete_removes_predictor(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    await create(app, client, ada)

    deleted = await client.delete("/predictors/@ada/greeting", headers=ada.headers)
    after = await client.get("/predictors/@ada/greeting", headers=ada.headers)

    assert deleted.json() is True
    assert after.status_code == 404


async def test_only_owner_changes_a_predictor(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, make_account: MakeAccount
) -> None:
    bob = await make_account("bob")
    await create(app, client, ada, access="PUBLIC")
    url = await upload(client, bob, GREETING.encode(), "p.py", "NOTEBOOK")

    deleted = await client.delete("/predictors/@ada/greeting", headers=bob.headers)
    foreign = await client.post(
        "/predictors", json={"tag": "@ada/mine", "notebook": url}, headers=bob.headers
    )

    assert deleted.status_code == 403
    assert foreign.status_code == 403
    assert "@bob/mine" in foreign.json()["error"]


async def test_bad_create_inputs_are_named(
    client: httpx.AsyncClient, ada: Account
) -> None:
    cases = [
        ({"tag": "ada/no-at", "notebook": "data:,x"}, "tag:"),
        ({"tag": "@ada/x", "notebook": "data:,x", "type": "EDGE"}, "EDGE"),
        (
            {"tag": "@ada/x", "notebook": "https://elsewhere.example/n.ipynb"},
            "upload URL",
        ),
        (
            {"tag": "@ada/x", "notebook": "data:,x", "description": "d" * 201},
            "description",
        ),
    ]
    for body, problem in cases:
        response = await client.post("/predictors", json=body, headers=ada.headers)
        assert response.status_code in (400, 404), (body, response.text)
        assert problem in response.json()["error"], (body, response.text)
