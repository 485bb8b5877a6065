"""Predictions approved by the owner's authorization URL, in process, with the
owner's service a small HTTP server of the test's own on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from openfxn.server.settings import Settings
from openfxn.server.store.tables import AuthorizationDecision, Prediction, Usage
from tests.conftest import Account, MakeAccount, sqlite_settings
from tests.server.services.test_predictions import GREETING, decoded
from tests.server.services.test_predictors import create


@dataclass
class OwnerService:
    """What the owner's service answers, and what it was asked."""

    url: str
    status: int = 200
    reply: bytes = b'{"customer": "cus_42"}'
    headers: dict[str, str] = field(default_factory=dict)
    asked: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def answer(self, status: int, reply: Any, **headers: str) -> None:
        self.status, self.headers = status, headers
        self.reply = reply if isinstance(reply, bytes) else json.dumps(reply).encode()


@pytest.fixture
def owner_service() -> Iterator[OwnerService]:
    service = OwnerService("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            service.asked.append(
                ({k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(service.status)
            for name, value in service.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(service.reply)))
            self.end_headers()
            self.wfile.write(service.reply)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}/authorize"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield service
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    return sqlite_settings(
        tmp_path,
        sqlite_template,
        allow_loopback_authorization=True,
        allow_http_authorization=True,
    )


@dataclass
class Owner:
    account: Account
    tag: str
    secret: str


@pytest.fixture
async def owner(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    owner_service: OwnerService,
) -> Owner:
    tag = (await create(app, client, ada, GREETING, access="PRIVATE"))["tag"]
    made = await client.patch(
        "/user", json={"authorizationUrl": owner_service.url}, headers=ada.headers
    )
    assert made.status_code == 200, made.text
    return Owner(ada, tag, made.json()["authorizationSecret"])


async def predict(
    client: httpx.AsyncClient, tag: str, key: str | None
) -> httpx.Response:
    """With ``key`` as ``curl -u KEY:`` sends it: Basic, in UTF-8."""
    headers = {}
    if key is not None:
        basic = base64.b64encode(f"{key}:".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    return await client.post(f"/predict/{tag}", json={"name": "Rhea"}, headers=headers)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return headers["webhook-signature"] == "v1," + expected.decode()


async def test_the_secret_is_shown_once_and_the_url_to_its_owner_only(
    client: httpx.AsyncClient,
    owner: Owner,
    make_account: MakeAccount,
) -> None:
    mine = (await client.get("/user", headers=owner.account.headers)).json()
    eve = await make_account("eve")
    seen = (await client.get("/users/ada", headers=eve.headers)).json()

    assert owner.secret.startswith("whsec_")
    assert mine["authorizationUrl"].endswith("/authorize")
    assert mine["authorizationSecret"] is None
    assert seen["authorizationUrl"] is None


async def test_a_plain_http_url_is_refused_by_default(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    app.state.services.users.allow_http = False

    refused = await client.patch(
        "/user", json={"authorizationUrl": "http://example.com/a"}, headers=ada.headers
    )

    assert refused.status_code == 400
    assert "https" in refused.json()["error"]


@pytest.mark.parametrize(
    "key", ["anything", "👁👄👁", None], ids=["text", "emoji", "none"]
)
async def test_any_key_is_forwarded_and_approved_on_the_owners_account(
    app: FastAPI,
    client: httpx.AsyncClient,
    owner: Owner,
    owner_service: OwnerService,
    key: str | None,
) -> None:
    response = await predict(client, owner.tag, key)

    assert response.status_code == 200, response.text
    assert decoded(response.json()["results"][0]) == b"Hello, Rhea!"
    headers, body = owner_service.asked[-1]
    assert json.loads(body) == {"tag": owner.tag, "accessKey": key}
    assert verify(owner.secret, headers, body)
    async with app.state.database.read() as session:
        prediction = await session.get_one(Prediction, response.json()["id"])
        usage = await session.scalar(
            select(Usage).where(Usage.prediction_id == prediction.id)
        )
    assert (prediction.caller_kind, prediction.customer) == ("authorization", "cus_42")
    assert usage is not None and usage.customer == "cus_42" and usage.cost > 0


async def test_a_refusal_reaches_the_caller_through_both_transports(
    client: httpx.AsyncClient, owner: Owner, owner_service: OwnerService
) -> None:
    owner_service.answer(402, {"error": "You have not yet paid"})

    rest = await predict(client, owner.tag, "customer-key")
    arguments = f'tag: "{owner.tag}", client: "python"'
    query = f"mutation {{ createPrediction(input: {{{arguments}}}) {{ id }} }}"
    graphql = await client.post(
        "/graph", json={"query": query}, headers={"Authorization": "Bearer x"}
    )

    assert (rest.status_code, rest.json()["error"]) == (402, "You have not yet paid")
    assert graphql.json()["errors"][0]["message"] == "You have not yet paid"


@pytest.mark.parametrize(
    ("status", "reply", "expected"),
    [
        (500, b"{}", 502),
        (200, b"<html>not json</html>", 502),
        (302, b"", 502),
    ],
    ids=["server-error", "junk", "redirect"],
)
async def test_a_failing_service_fails_closed(
    client: httpx.AsyncClient,
    owner: Owner,
    owner_service: OwnerService,
    status: int,
    reply: bytes,
    expected: int,
) -> None:
    owner_service.answer(status, reply, Location="http://127.0.0.1:9/elsewhere")

    response = await predict(client, owner.tag, "customer-key")

    assert response.status_code == expected
    assert (
        "authorization service of this predictor's owner failed"
        in (response.json()["error"])
    )


async def test_the_default_settings_refuse_a_loopback_url(
    app: FastAPI, client: httpx.AsyncClient, owner: Owner
) -> None:
    authorizer = app.state.services.predictions.authorizer
    strict = type(authorizer.client)(allow_http=True)
    authorizer.client, loose = strict, authorizer.client
    try:
        response = await predict(client, owner.tag, "customer-key")
    finally:
        authorizer.client = loose
        await strict.aclose()

    assert response.status_code == 503
    assert "loopback" in response.json()["error"]


async def test_approvals_are_reused_only_when_the_reply_allows(
    app: FastAPI, client: httpx.AsyncClient, owner: Owner, owner_service: OwnerService
) -> None:
    owner_service.answer(200, {"customer": "c"}, **{"Cache-Control": "max-age=30"})
    for _ in range(3):
        assert (await predict(client, owner.tag, "cached-key")).status_code == 200
    owner_service.answer(403, {"error": "no"})
    for _ in range(2):
        assert (await predict(client, owner.tag, "other-key")).status_code == 403

    assert len(owner_service.asked) == 3  # one approval, reused; each refusal asked
    async with app.state.database.read() as session:
        decisions = (await session.scalars(select(AuthorizationDecision))).all()
    assert [d.outcome for d in decisions] == ["allowed", "refused", "refused"]
    assert all(d.key_hash and "key" not in d.key_hash for d in decisions)
    listed = await client.get(
        "/user/authorizationDecisions", headers=owner.account.headers
    )
    newest = listed.json()[0]
    assert (newest["outcome"], newest["detail"], newest["tag"]) == (
        "refused",
        "no",
        owner.tag,
    )


async def test_a_valid_key_never_asks_the_owner(
    client: httpx.AsyncClient,
    owner: Owner,
    owner_service: OwnerService,
    make_account: MakeAccount,
) -> None:
    eve = await make_account("eve")

    response = await predict(client, owner.tag, eve.key)

    assert response.status_code == 404  # the predictor is private to ada
    assert owner_service.asked == []


async def test_the_spend_limit_stops_predictions(
    client: httpx.AsyncClient, owner: Owner, ada: Account
) -> None:
    first = await predict(client, owner.tag, ada.key)
    await client.patch("/user", json={"spendLimit": 0.0}, headers=ada.headers)

    refused = await predict(client, owner.tag, ada.key)

    assert first.status_code == 200
    assert refused.status_code == 402
    assert "spendLimit" in refused.json()["error"]


async def test_usage_tells_own_keys_from_the_owners_customers(
    client: httpx.AsyncClient, owner: Owner, ada: Account
) -> None:
    assert (await predict(client, owner.tag, ada.key)).status_code == 200
    assert (await predict(client, owner.tag, "customer-key")).status_code == 200

    usage = (await client.get("/usage", headers=ada.headers)).json()
    exported = await client.get("/usage.csv", headers=ada.headers)

    assert usage["predictions"] == 2 and usage["cost"] > 0
    assert [line["key"] for line in usage["callerKinds"]] == ["authorization", "key"]
    assert [line["key"] for line in usage["customers"]] == [None, "cus_42"]
    assert usage["predictors"][0]["key"] == owner.tag
    assert usage["predictors"][0]["predictions"] == 2
    rows = exported.text.splitlines()
    assert rows[0].startswith("created,prediction,predictor")
    assert len(rows) == 3 and rows[2].endswith(",authorization,cus_42")
    assert exported.headers["content-type"].startswith("text/csv")


async def test_a_month_is_written_as_year_and_month(
    client: httpx.AsyncClient, ada: Account
) -> None:
    refused = await client.get("/usage?month=December", headers=ada.headers)

    assert refused.status_code == 400
    assert "month" in refused.json()["error"]
