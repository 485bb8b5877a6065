from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from openfxn.server.settings import Settings
from tests.conftest import Account


async def upload_url(client: httpx.AsyncClient, account: Account, **body: str) -> str:
    response = await client.post(
        "/uploads",
        json={"name": "cat.jpg", "type": "MEDIA", **body},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    url: str = response.json()
    return url.removeprefix("http://test")


async def test_put_without_credentials_then_get(
    client: httpx.AsyncClient, ada: Account
) -> None:
    url = await upload_url(client, ada, key="abc")

    put = await client.put(
        url, content=b"\xff\xd8jpeg", headers={"Content-Type": "image/jpeg"}
    )
    got = await client.get(url)
    by_path = await client.get(urlsplit(url).path)

    assert url.startswith("/uploads/ada/media/abc/cat.jpg?")
    assert put.status_code == 200
    assert got.content == by_path.content == b"\xff\xd8jpeg"
    assert got.headers["content-type"] == "image/jpeg"


async def test_feature_is_an_alias_of_value(
    client: httpx.AsyncClient, ada: Account
) -> None:
    url = await upload_url(client, ada, type="FEATURE")

    assert "/value/" in url


async def test_tampered_signature_is_refused(
    client: httpx.AsyncClient, ada: Account
) -> None:
    url = await upload_url(client, ada)
    other_path = url.replace("cat.jpg", "dog.jpg")
    no_query = urlsplit(url).path

    flipped = url[:-1] + ("0" if url[-1] != "0" else "1")

    for target in (other_path, no_query, flipped):
        response = await client.put(target, content=b"x")
        assert response.status_code == 400, target
        assert "createUploadUrl" in response.json()["error"]


async def test_upload_url_needs_a_caller(client: httpx.AsyncClient) -> None:
    response = await client.post("/uploads", json={"name": "a", "type": "VALUE"})

    assert response.status_code == 401


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_media_bytes": 2048})


async def test_size_limit_per_type_is_413(
    client: httpx.AsyncClient, ada: Account
) -> None:
    media = await upload_url(client, ada)
    value = await upload_url(client, ada, type="VALUE", name="big.bin")

    too_big = await client.put(media, content=b"x" * 4096)
    fine = await client.put(value, content=b"x" * 4096)

    assert too_big.status_code == 413
    assert "OPENFXN_MAX_" in too_big.json()["error"]
    assert fine.status_code == 200


async def test_missing_upload_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/uploads/ada/media/nothing/here.png")

    assert response.status_code == 404
    assert response.json()["errors"]


@pytest.mark.parametrize("name", ["a/b", "", "x" * 256, "bad\nname"])
async def test_bad_file_names_are_refused(
    client: httpx.AsyncClient, ada: Account, name: str
) -> None:
    response = await client.post(
        "/uploads", json={"name": name, "type": "MEDIA"}, headers=ada.headers
    )

    assert response.status_code == 400
    assert "name:" in response.json()["error"]
