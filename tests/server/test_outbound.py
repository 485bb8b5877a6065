"""Outbound requests: the address classifier, URL checks and hostile endpoints.

Every connection stays on 127.0.0.1. Public addresses appear only in the
classifier table and in resolver fakes for requests that must be refused before
any connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import gzip
import ipaddress
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openfxn.server import outbound
from openfxn.server.outbound import (
    IPAddress,
    OutboundClient,
    OutboundError,
    check_url,
    is_global,
)

MiB = 1024 * 1024

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.100.100.200",
    "198.18.0.1",
    "198.19.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "192.88.99.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::7f00:1",
    "::ffff:0:7f00:1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "fc00::1",
    "fd00::2",
    "fd00:ec2::254",
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "5f00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "2002:7f00:1::1",
    "2002:a9fe:a9fe::",
    "2001:0:808:808::80ff:fffe",
    "2001:0:a00:1::f7f7:f7f7",
    "2001:2::1",
]

ACCEPTED = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "100.63.255.255",
    "100.128.0.0",
    "172.32.0.0",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:0:808:808::f7f7:f7f7",
]

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "0.0.0.0",
    "127.1",
    "0x7f000001",
    "2130706433",
    "017700000001",
    "[::ffff:127.0.0.1]",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_address_is_refused(address: str) -> None:
    assert not is_global(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ACCEPTED)
def test_public_address_is_accepted(address: str) -> None:
    assert is_global(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "allow_http", "problem"),
    [
        ("https://auth.example.com/check", False, None),
        ("https://auth.example.com:8443/a?b=c", False, None),
        ("https://[2606:4700:4700::1111]/", False, None),
        ("https://bücher.example/", False, None),
        ("http://auth.example.com/", True, None),
        ("http://auth.example.com/", False, "must start with https://"),
        ("ftp://auth.example.com/", True, "https:// or http://"),
        ("file:///etc/passwd", True, "must start with"),
        ("//auth.example.com/", False, "must start with"),
        ("auth.example.com", False, "must start with"),
        ("https://u:p@auth.example.com/", False, "user name or password"),
        ("https://token@auth.example.com/", False, "user name or password"),
        ("https:///path", False, "no host"),
        ("https://exa mple.com/", False, "not a valid name"),
        ("https://auth.example.com:0/", False, "between 1 and 65535"),
        ("https://auth.example.com:70000/", False, "between 1 and 65535"),
        ("https://auth.example.com/\r\nX: y", False, "not valid"),
        ("https://auth.example.com/" + "a" * 2100, False, "longer than 2048"),
    ],
)
def test_check_url(url: str, allow_http: bool, problem: str | None) -> None:
    found = check_url(url, allow_http=allow_http)

    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


# Hostile endpoints ----------------------------------------------------------


class HostileServer(ThreadingHTTPServer):
    """A loopback server whose routes misbehave the way a bad owner's might."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: list[str] = []
        self.seen: list[tuple[dict[str, str], bytes]] = []
        self.stop = threading.Event()
        self.gate = threading.Event()
        self.arrivals = threading.Semaphore(0)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.hits.append(self.path)
        self.server.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        route = ROUTES.get(self.path.lstrip("/"), send_not_found)
        try:
            route(self)
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def start(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def send_body(self, body: bytes, content_type: str, **headers: str) -> None:
        length = {"Content-Length": str(len(body))}
        self.start(200, {"Content-Type": content_type, **length, **headers})
        self.wfile.write(body)


def send_ok(handler: Handler) -> None:
    handler.send_body(b'{"allowed": true}', "application/json")


def send_not_found(handler: Handler) -> None:
    handler.start(404, {"Content-Length": "0"})


def send_redirect(handler: Handler) -> None:
    target = f"{handler.server.base}/target"
    handler.start(302, {"Location": target, "Content-Length": "0"})


def send_slowly(handler: Handler) -> None:
    handler.server.stop.wait(8)
    send_ok(handler)


def send_trickle(handler: Handler) -> None:
    handler.start(200, {"Content-Type": "application/json", "Content-Length": "100"})
    for _ in range(100):
        if handler.server.stop.wait(0.3):
            return
        handler.wfile.write(b" ")
        handler.wfile.flush()


def send_huge(handler: Handler) -> None:
    handler.start(200, {"Content-Length": str(10 * MiB)})
    send_zeros(handler, 10 * MiB)


def send_huge_unsized(handler: Handler) -> None:
    handler.close_connection = True
    handler.start(200, {"Connection": "close"})
    send_zeros(handler, 10 * MiB)


def send_zeros(handler: Handler, size: int) -> None:
    chunk = bytes(64 * 1024)
    for _ in range(size // len(chunk)):
        handler.wfile.write(chunk)


def send_junk(handler: Handler) -> None:
    handler.send_body(b"<html>not json", "text/html")


def send_gzip_bomb(handler: Handler) -> None:
    handler.send_body(gzip_bomb(), "application/json", **{"Content-Encoding": "gzip"})


def send_when_released(handler: Handler) -> None:
    handler.server.arrivals.release()
    handler.server.gate.wait(5)
    send_ok(handler)


ROUTES: dict[str, Callable[[Handler], None]] = {
    "ok": send_ok,
    "target": send_ok,
    "redirect": send_redirect,
    "slow": send_slowly,
    "trickle": send_trickle,
    "huge": send_huge,
    "huge-unsized": send_huge_unsized,
    "junk": send_junk,
    "gzip": send_gzip_bomb,
    "hold": send_when_released,
}


@functools.cache
def gzip_bomb() -> bytes:
    """50 MiB of zeros, which gzip shrinks to about 50 KB: under the cap."""
    return gzip.compress(bytes(50 * MiB), compresslevel=9)


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    with serving(server):
        yield server
        server.stop.set()
        server.gate.set()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that must never see a connection."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
async def loose() -> AsyncIterator[OutboundClient]:
    client = OutboundClient(allow_loopback=True, allow_http=True, deadline_s=1.5)
    yield client
    await client.aclose()


def assert_no_connection(listener: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        listener.accept()


def fake_resolver(*addresses: str) -> Callable[[str, int], object]:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(address) for address in addresses]

    return resolve


# The strict client -----------------------------------------------------------


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
async def test_strict_client_refuses_loopback_spellings(
    host: str, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    client = OutboundClient(allow_http=True)

    with pytest.raises(OutboundError, match=r"^refused .*(loopback|unspecified)"):
        await client.post_json(f"http://{host}:{port}/", b"{}", {}, owner="a")

    await client.aclose()
    assert_no_connection(listener)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "must start with https://"),
        ("http://auth.example.com/", "must start with https://"),
        ("https://u:p@127.0.0.1/", "user name or password"),
    ],
)
async def test_strict_client_refuses_bad_urls(url: str, message: str) -> None:
    client = OutboundClient()

    with pytest.raises(OutboundError, match=message):
        await client.post_json(url, b"{}", {}, owner="a")

    await client.aclose()


async def test_refusal_names_the_host_address_and_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbound, "resolve", fake_resolver("169.254.169.254"))
    client = OutboundClient()

    with pytest.raises(OutboundError) as caught:
        await client.post_json("https://meta.test/", b"{}", {}, owner="a")

    await client.aclose()
    assert str(caught.value) == (
        "refused meta.test: it resolves to 169.254.169.254, a link-local address"
    )


async def test_any_non_public_answer_refuses_the_host(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket
) -> None:
    monkeypatch.setattr(outbound, "resolve", fake_resolver("127.0.0.1", "10.0.0.1"))
    client = OutboundClient(allow_loopback=True, allow_http=True)
    port = listener.getsockname()[1]

    with pytest.raises(OutboundError, match=r"10\.0\.0\.1, a private address"):
        await client.post_json(f"http://mixed.test:{port}/", b"{}", {}, owner="a")

    await client.aclose()
    assert_no_connection(listener)


async def test_dns_failure_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    client = OutboundClient()

    with pytest.raises(OutboundError, match=r"could not resolve nowhere\.test: name"):
        await client.post_json("https://nowhere.test/", b"{}", {}, owner="a")

    await client.aclose()


@pytest.mark.parametrize("host", ["10.0.0.1", "169.254.169.254", "[fd00::2]"])
async def test_allow_loopback_opens_nothing_else(host: str) -> None:
    client = OutboundClient(allow_loopback=True, allow_http=True)

    with pytest.raises(OutboundError, match=r"^refused"):
        await client.post_json(f"http://{host}:9/", b"{}", {}, owner="a")

    await client.aclose()


# Hostile endpoints through the loopback client ------------------------------


async def test_ok_reply_and_request_shape(
    loose: OutboundClient, hostile: HostileServer
) -> None:
    headers = {"Authorization": "Basic a2V5Og==", "Accept-Encoding": "gzip"}

    reply = await loose.post_json(f"{hostile.base}/ok", b'{"a":1}', headers, owner="a")

    assert reply.status == 200
    assert json.loads(reply.body) == {"allowed": True}
    assert reply.headers["content-type"] == "application/json"
    seen, body = hostile.seen[0]
    assert body == b'{"a":1}'
    assert seen["authorization"] == "Basic a2V5Og=="
    assert seen["accept-encoding"] == "identity"
    assert seen["content-type"] == "application/json"


async def test_ipv4_mapped_loopback_is_allowed_with_loopback(
    loose: OutboundClient, hostile: HostileServer
) -> None:
    port = hostile.server_address[1]

    reply = await loose.post_json(
        f"http://[::ffff:127.0.0.1]:{port}/ok", b"{}", {}, owner="a"
    )

    assert reply.status == 200


async def test_redirect_is_returned_not_followed(
    loose: OutboundClient, hostile: HostileServer
) -> None:
    reply = await loose.post_json(f"{hostile.base}/redirect", b"{}", {}, owner="a")

    assert reply.status == 302
    assert reply.headers["location"].endswith("/target")
    assert hostile.hits == ["/redirect"]


@pytest.mark.parametrize("route", ["slow", "trickle"])
async def test_slow_reply_fails_at_the_deadline(
    route: str, loose: OutboundClient, hostile: HostileServer
) -> None:
    started = time.monotonic()

    with pytest.raises(OutboundError, match=r"did not reply within 1\.5 s"):
        await loose.post_json(f"{hostile.base}/{route}", b"{}", {}, owner="a")

    assert 1.4 < time.monotonic() - started < 2.5
    reply = await loose.post_json(f"{hostile.base}/ok", b"{}", {}, owner="a")
    assert reply.status == 200


@pytest.mark.parametrize("route", ["huge", "huge-unsized"])
async def test_huge_reply_stops_at_the_cap(
    route: str, loose: OutboundClient, hostile: HostileServer
) -> None:
    started = time.monotonic()

    with pytest.raises(OutboundError, match=r"^the reply was larger than 64 KiB$"):
        await loose.post_json(f"{hostile.base}/{route}", b"{}", {}, owner="a")

    assert time.monotonic() - started < 1.0


async def test_junk_is_returned_as_bytes(
    loose: OutboundClient, hostile: HostileServer
) -> None:
    reply = await loose.post_json(f"{hostile.base}/junk", b"{}", {}, owner="a")

    assert (reply.status, reply.body) == (200, b"<html>not json")


async def test_gzip_bomb_is_returned_raw(
    loose: OutboundClient, hostile: HostileServer
) -> None:
    reply = await loose.post_json(f"{hostile.base}/gzip", b"{}", {}, owner="a")

    assert reply.headers["content-encoding"] == "gzip"
    assert reply.body == gzip_bomb()
    assert len(reply.body) <= 64 * 1024


async def test_refused_connection_is_reported(loose: OutboundClient) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]

    with pytest.raises(OutboundError, match=f"127.0.0.1:{port}: connection refused"):
        await loose.post_json(f"http://127.0.0.1:{port}/", b"{}", {}, owner="a")


async def test_connect_timeout_is_reported() -> None:
    client = OutboundClient(allow_loopback=True, allow_http=True, connect_timeout_s=0.3)
    with socket.create_server(("127.0.0.1", 0), backlog=0) as full:
        port = full.getsockname()[1]
        fillers = [fill_backlog(port) for _ in range(3)]

        with pytest.raises(OutboundError, match=r"took over 0\.3 s"):
            await client.post_json(f"http://127.0.0.1:{port}/", b"{}", {}, owner="a")

    for filler in fillers:
        filler.close()
    await client.aclose()


def fill_backlog(port: int) -> socket.socket:
    """A connection that sits in the accept queue, so later connects hang."""
    sock = socket.socket()
    sock.setblocking(False)
    sock.connect_ex(("127.0.0.1", port))
    time.sleep(0.05)
    return sock


async def test_owner_concurrency_is_bounded(hostile: HostileServer) -> None:
    client = OutboundClient(
        allow_loopback=True, allow_http=True, per_owner_concurrency=2
    )

    def post(route: str, owner: str) -> asyncio.Task[outbound.Reply]:
        request = client.post_json(f"{hostile.base}/{route}", b"{}", {}, owner=owner)
        return asyncio.create_task(request)

    held = [post("hold", "a"), post("hold", "a")]
    for _ in held:
        assert await asyncio.to_thread(hostile.arrivals.acquire, timeout=5)
    waiting = post("ok", "a")

    other = await post("ok", "b")
    await asyncio.sleep(0.1)

    assert other.status == 200
    assert not waiting.done()
    assert hostile.hits.count("/ok") == 1
    hostile.gate.set()
    replies = await asyncio.gather(*held, waiting)
    assert [reply.status for reply in replies] == [200, 200, 200]
    await client.aclose()


async def test_wait_for_a_slot_counts_against_the_deadline(
    hostile: HostileServer,
) -> None:
    client = OutboundClient(
        allow_loopback=True, allow_http=True, per_owner_concurrency=1, deadline_s=0.5
    )
    url = f"{hostile.base}/hold"
    first = asyncio.create_task(client.post_json(url, b"{}", {}, owner="a"))
    assert await asyncio.to_thread(hostile.arrivals.acquire, timeout=5)
    started = time.monotonic()

    with pytest.raises(OutboundError, match=r"waiting for earlier requests"):
        await client.post_json(url, b"{}", {}, owner="a")

    assert time.monotonic() - started < 0.7

    with pytest.raises(OutboundError, match=r"did not reply within 0\.5 s$"):
        await first
    await client.aclose()


# TLS: connect to the checked address, verify the name -----------------------


def certificate(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class TLSServer(HostileServer):
    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        self.server_names: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = self.record_name
        self.socket = context.wrap_socket(self.socket, server_side=True)

    def record_name(
        self, sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext
    ) -> None:
        self.server_names.append(name)


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[TLSServer, ssl.SSLContext]]:
    cert_pem, key_pem = certificate("authz.test")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server = TLSServer(tmp_path / "cert.pem", tmp_path / "key.pem")
    trust = ssl.create_default_context(cadata=cert_pem.decode())
    with serving(server):
        yield server, trust


async def test_tls_verifies_the_name_at_the_pinned_address(
    tls: tuple[TLSServer, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, trust = tls
    port = server.server_address[1]
    monkeypatch.setattr(outbound, "resolve", fake_resolver("127.0.0.1"))
    client = OutboundClient(allow_loopback=True, ssl_context=trust)

    reply = await client.post_json(
        f"https://authz.test:{port}/ok", b"{}", {}, owner="a"
    )
    with pytest.raises(OutboundError, match="TLS certificate was not accepted"):
        await client.post_json(f"https://other.test:{port}/ok", b"{}", {}, owner="a")

    await client.aclose()
    assert reply.status == 200
    assert server.server_names == ["authz.test", "other.test"]
    assert server.hits == ["/ok"]
