from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Account, MakeAccount, count_rows


async def create_key(
    client: httpx.AsyncClient, account: Account, **body: object
) -> dict:
    response = await client.post(
        "/accessKeys", json={"name": "laptop", **body}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    created: dict = response.json()
    return created


async def test_created_key_authenticates(
    client: httpx.AsyncClient, ada: Account
) -> None:
    created = await create_key(client, ada)

    response = await client.get(
        "/user", headers={"Authorization": f"Bearer {created['key']}"}
    )

    assert response.json()["username"] == "ada"
    assert created["accessKey"]["name"] == "laptop"
    assert created["accessKey"]["hint"].endswith(created["key"][-4:])


async def test_list_never_shows_plaintext(
    client: httpx.AsyncClient, ada: Account
) -> None:
    created = await create_key(client, ada)

    listed = (await client.get("/accessKeys", headers=ada.headers)).json()

    assert [key["name"] for key in listed] == ["test", "laptop"]
    assert created["key"] not in str(listed)
    assert ada.key not in str(listed)


async def test_keys_are_stored_only_as_digests(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    created = await create_key(client, ada)
    database = app.state.database

    async with database.read() as session:
        rows = (await session.execute(text("SELECT * FROM access_keys"))).all()

    dump = repr(rows)
    assert created["key"] not in dump
    assert ada.key not in dump
    assert await count_rows(database, "access_keys") == 2


async def test_revocation_takes_effect_at_once(
    client: httpx.AsyncClient, ada: Account
) -> None:
    created = await create_key(client, ada)
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await client.get("/user", headers=headers)).status_code == 200

    revoked = await client.delete(
        f"/accessKeys/{created['accessKey']['id']}", headers=ada.headers
    )
    after = await client.get("/user", headers=headers)

    assert revoked.status_code == 200
    assert after.status_code == 401
    assert "not valid" in after.json()["error"]
    listed = (await client.get("/accessKeys", headers=ada.headers)).json()
    assert created["accessKey"]["id"] not in str(listed)


async def test_a_key_can_revoke_itself(client: httpx.AsyncClient, ada: Account) -> None:
    keys = (await client.get("/accessKeys", headers=ada.headers)).json()

    await client.delete(f"/accessKeys/{keys[0]['id']}", headers=ada.headers)

    assert (await client.get("/user", headers=ada.headers)).status_code == 401


async def test_cannot_revoke_anothers_key(
    client: httpx.AsyncClient, ada: Account, make_account: MakeAccount
) -> None:
    bob = await make_account("bob")
    bobs_key = (await client.get("/accessKeys", headers=bob.headers)).json()[0]

    response = await client.delete(f"/accessKeys/{bobs_key['id']}", headers=ada.headers)

    assert response.status_code == 404
    assert (await client.get("/user", headers=bob.headers)).status_code == 200


async def test_expired_key_is_refused_with_reason(
    client: httpx.AsyncClient, ada: Account
) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    created = await create_key(client, ada, expires=soon.isoformat())
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await client.get("/user", headers=headers)).status_code == 200

    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    response = await client.get("/user", headers=headers)

    assert response.status_code == 401
    assert "expired" in response.json()["error"]


async def test_profile_changes_show_at_once(
    client: httpx.AsyncClient, ada: Account
) -> None:
    assert (await client.get("/user", headers=ada.headers)).json()["bio"] is None

    await client.patch("/user", json={"bio": "Analyst"}, headers=ada.headers)

    assert (await client.get("/user", headers=ada.headers)).json()["bio"] == "Analyst"


async def test_expiry_must_be_future_and_zoned(
    client: httpx.AsyncClient, ada: Account
) -> None:
    past = await client.post(
        "/accessKeys",
        json={"name": "x", "expires": "2020-01-01T00:00:00Z"},
        headers=ada.headers,
    )
    naive = await client.post(
        "/accessKeys",
        json={"name": "x", "expires": "2099-01-01T00:00:00"},
        headers=ada.headers,
    )

    assert past.status_code == 400
    assert "future" in past.json()["error"]
    assert naive.status_code == 400
    assert "time zone" in naive.json()["error"]


async def test_last_used_is_recorded(client: httpx.AsyncClient, ada: Account) -> None:
    await client.get("/user", headers=ada.headers)

    listed = (await client.get("/accessKeys", headers=ada.headers)).json()

    assert listed[0]["lastUsed"] is not None


async def test_key_operations_need_a_caller(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/accessKeys"),
        ("POST", "/accessKeys"),
        ("DELETE", "/accessKeys/key_x"),
    ):
        response = await client.request(method, path, json={"name": "x"})
        assert response.status_code == 401, (method, path)


async def test_key_name_is_required(client: httpx.AsyncClient, ada: Account) -> None:
    response = await client.post("/accessKeys", json={"name": " "}, headers=ada.headers)

    assert response.status_code == 400
    assert "name:" in response.json()["error"]
