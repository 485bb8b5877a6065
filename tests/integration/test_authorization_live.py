"""Custom authorization on a real server: the owner's authorization URL is a
small HTTP server of the test's own on loopback, which the server may reach
only because the test sets OPENFXN_ALLOW_LOOPBACK_AUTHORIZATION."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.official import OfficialClient, install
from tests.integration.support import LiveServer, create_user, start_server, stop

pytestmark = pytest.mark.timeout(240)

DEADLINE_S = 1.5
GREETING = b'def predict(name: str) -> str:\n    return f"Hello, {name}!"\n'
SETTINGS = {
    "OPENFXN_ALLOW_LOOPBACK_AUTHORIZATION": "true",
    "OPENFXN_ALLOW_HTTP_AUTHORIZATION": "true",
    "OPENFXN_AUTHORIZATION_TIMEOUT_S": str(DEADLINE_S),
}
OFFICIAL_PREDICTS = """
import sys
from fxn import Function

fxn = Function(access_key=sys.argv[1], api_url=sys.argv[2])
try:
    prediction = fxn.predictions.create(tag=sys.argv[3], name="Rhea")
    print("result", prediction.results)
except Exception as error:
    print("error", error)
"""


@dataclass
class OwnerService:
    """The owner's service: what each path answers, and what it was asked."""

    url: str = ""
    asked: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


def respond(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def behave(handler: BaseHTTPRequestHandler, path: str) -> None:
    if path == "/approve":
        respond(handler, 200, b'{"customer": "cus_7"}')
    elif path == "/unpaid":
        respond(handler, 402, b'{"error": "You have not yet paid"}')
    elif path == "/slow":
        time.sleep(6)
        respond(handler, 200, b"{}")
    elif path == "/trickle":
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        for _ in range(20):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.3)
    elif path == "/redirect":
        handler.send_response(307)
        handler.send_header("Location", "/approve")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    elif path == "/huge":
        respond(handler, 200, b"{" + b" " * (1024 * 1024) + b"}")
    else:
        respond(handler, 200, b"<html>junk</html>")


@pytest.fixture(scope="module")
def owner_service() -> Iterator[OwnerService]:
    service = OwnerService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            service.asked.append((self.path, headers, body))
            # the server may give up on us, as it should
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                behave(self, self.path)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield service
    server.shutdown()
    server.server_close()


@dataclass
class Setup:
    server: LiveServer
    client: httpx.Client
    tag: str
    secret: str = ""

    def point_at(self, path: str, service: OwnerService) -> None:
        made = self.client.patch("/user", json={"authorizationUrl": service.url + path})
        assert made.status_code == 200, made.text
        self.secret = made.json()["authorizationSecret"] or self.secret


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("authorization")
    data, log = root / "data", root / "server.log"
    data.mkdir()
    key = create_user(data, SETTINGS)
    process, url = start_server(data, log, SETTINGS)
    client = httpx.Client(base_url=url, auth=(key, ""), trust_env=False, timeout=30)
    try:
        source = "data:;name=greeting.py;base64," + base64.b64encode(GREETING).decode()
        made = client.post("/predictors", json={"tag": "@peter/hi", "notebook": source})
        assert made.status_code == 201, made.text
        deadline = time.monotonic() + 60
        while client.get("/predictors/@peter/hi").json()["status"] != "ACTIVE":
            assert time.monotonic() < deadline, "the predictor never became ACTIVE"
            time.sleep(0.1)
        yield Setup(LiveServer(url, key, data, log), client, "@peter/hi")
    finally:
        client.close()
        stop(process)


def customer_predicts(setup: Setup, key: str) -> httpx.Response:
    basic = base64.b64encode(f"{key}:".encode()).decode()
    return httpx.post(
        f"{setup.server.url}/predict/{setup.tag}",
        json={"name": "Rhea"},
        headers={"Authorization": f"Basic {basic}"},
        trust_env=False,
        timeout=30,
    )


def signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


@pytest.mark.parametrize("key", ["sk_my_own_customer_1", "👁👄👁"])
def test_any_key_is_forwarded_verbatim_and_billed_to_the_owner(
    setup: Setup, owner_service: OwnerService, key: str
) -> None:
    setup.point_at("/approve", owner_service)

    response = customer_predicts(setup, key)

    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["stringValue"] == "Hello, Rhea!"
    _path, headers, body = owner_service.asked[-1]
    assert json.loads(body) == {"tag": setup.tag, "accessKey": key}
    assert signed_by(setup.secret, headers, body)
    usage = setup.client.get("/usage").json()
    customers = {line["key"]: line["predictions"] for line in usage["customers"]}
    assert customers.get("cus_7", 0) >= 1


def test_the_owners_refusal_reaches_every_client(
    setup: Setup, owner_service: OwnerService, tmp_path: Path
) -> None:
    setup.point_at("/unpaid", owner_service)
    official = OfficialClient("0.0.26", install("0.0.26"), setup.server)

    rest = customer_predicts(setup, "late-payer")
    query = 'mutation { createPrediction(input: {tag: "@peter/hi", client: "python"})'
    graphql = httpx.post(
        f"{setup.server.url}/graph",
        json={"query": query + " { id } }"},
        headers={"Authorization": "Bearer late-payer"},
        trust_env=False,
    )
    printed = official.python(
        OFFICIAL_PREDICTS, "late-payer", setup.server.url, setup.tag, home=tmp_path
    )

    assert (rest.status_code, rest.json()["error"]) == (402, "You have not yet paid")
    assert graphql.json()["errors"][0]["message"] == "You have not yet paid"
    assert printed.stdout.strip() == "error You have not yet paid"


@pytest.mark.parametrize("path", ["/slow", "/trickle", "/redirect", "/huge", "/junk"])
def test_a_hostile_service_fails_closed_while_others_are_served(
    setup: Setup, owner_service: OwnerService, path: str
) -> None:
    setup.point_at(path, owner_service)
    with ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        hostile = [pool.submit(customer_predicts, setup, f"k{n}") for n in range(3)]
        own = [setup.client.post(f"/predict/{quote(setup.tag)}", json={"name": "A"})]
        own_done = time.monotonic() - started
        refused = [future.result() for future in hostile]
        all_done = time.monotonic() - started

    assert [r.status_code for r in refused] in ([502] * 3, [503] * 3), refused
    assert all("authorization service" in r.json()["error"] for r in refused)
    assert all_done < DEADLINE_S + 3
    assert own[0].status_code == 200 and own_done < DEADLINE_S
