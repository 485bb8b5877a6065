"""POST JSON to URLs that users configure, without letting them aim the server inward.

An owner's ``authorizationUrl`` is typed by a user, so a request to it must not
reach the server's own network: loopback services, private ranges, cloud
metadata. Every request here:

- accepts only ``https`` (``http`` when allowed) URLs with a host and no
  user name or password;
- resolves the host once and refuses it if any answer is not a public
  address, then connects to a checked address, never resolving again, while
  TLS still verifies the certificate against the host name;
- follows no redirect, uses no proxy from the environment and never inflates
  a compressed reply;
- fails at a connect timeout and at one overall deadline that also covers
  waiting for a slot, sending and reading the whole reply;
- reads at most a fixed number of bytes;
- runs at most a few at a time per owner, so one owner's slow service cannot
  hold every request.

Every failure is an :class:`OutboundError` whose message says what went wrong in
words an owner can act on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
HOST_NAME = re.compile(r"[A-Za-z0-9._-]+")
"""What a host may look like once httpx has IDNA-encoded it; anything else
(percent signs, spaces encoded away) cannot be a real name."""

RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "accept-encoding"}
"""Request headers this module owns: it frames the body itself and must
receive the reply uncompressed so that the cap counts real bytes."""


def _table(*rows: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(network), reason) for network, reason in rows)


IPV4_REFUSED = _table(
    ("127.0.0.0/8", "a loopback address"),
    ("0.0.0.0/8", "an unspecified address"),
    ("10.0.0.0/8", "a private address"),
    ("172.16.0.0/12", "a private address"),
    ("192.168.0.0/16", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("169.254.0.0/16", "a link-local address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
)
"""The first matching row names the reason, so a range precedes any wider one
that contains it."""

IPV6_REFUSED = _table(
    ("::1/128", "a loopback address"),
    ("::/128", "an unspecified address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("fc00::/7", "a unique local address"),
    ("ff00::/8", "a multicast address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("100::/64", "a discard-only address"),
    ("64:ff9b:1::/48", "a local NAT64 address"),
    ("2001::/23", "an IETF protocol address"),
    ("5f00::/16", "a segment routing address"),
)

GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


@dataclass(frozen=True)
class Reply:
    """A reply as received: any status (a 3xx is not followed), raw body."""

    status: int
    headers: dict[str, str]
    body: bytes


class OutboundError(Exception):
    """The request could not be made or the reply not read; the message says why."""


def is_global(address: IPAddress) -> bool:
    """Whether ``address`` is a public destination that may be contacted."""
    return _refusal(address) is None


def _refusal(address: IPAddress) -> str | None:
    """What kind of non-public address ``address`` is, or None if it is public.

    IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo) reach
    that IPv4 address in the end, so they are judged by it.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return _lookup(address, IPV4_REFUSED)

    embedded = _embedded(address)
    for form, ipv4 in embedded:
        reason = _lookup(ipv4, IPV4_REFUSED)
        if reason is not None:
            return f"{form} of {ipv4}, {reason}"
    if embedded:
        return None

    reason = _lookup(address, IPV6_REFUSED)
    if reason is None and address not in GLOBAL_UNICAST:
        return "a reserved address"
    return reason


def _lookup(address: IPAddress, table: Iterable[tuple[Network, str]]) -> str | None:
    return next((reason for network, reason in table if address in network), None)


def _embedded(
    address: ipaddress.IPv6Address,
) -> list[tuple[str, ipaddress.IPv4Address]]:
    if address.ipv4_mapped is not None:
        return [("an IPv4-mapped form", address.ipv4_mapped)]
    if address in NAT64:
        return [("a NAT64 form", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))]
    if address.sixtofour is not None:
        return [("a 6to4 form", address.sixtofour)]
    if address.teredo is not None:
        return [("a Teredo form", ipv4) for ipv4 in address.teredo]
    return []


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is None:
            return address == ipaddress.IPv6Address("::1")
        address = address.ipv4_mapped
    return address in IPV4_LOOPBACK


def check_url(url: str, *, allow_http: bool) -> str | None:
    """Why ``url`` cannot be an outbound target, or None if its form is fine.

    Only the form is judged: where the host points is checked on every
    request, because DNS answers change after the setting is saved.
    """
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"the URL is not valid: {exc}"

    return _form_problem(parsed, allow_http=allow_http)


def _form_problem(url: httpx.URL, *, allow_http: bool) -> str | None:
    if url.scheme != "https" and not (allow_http and url.scheme == "http"):
        schemes = "https:// or http://" if allow_http else "https://"
        return f"the URL must start with {schemes}"
    if url.userinfo:
        return "the URL must not contain a user name or password"
    if not url.raw_host:
        return "the URL has no host"
    if not _is_host(url.raw_host.decode("ascii")):
        return "the URL's host is not a valid name or address"
    if url.port is not None and not 0 < url.port < 65536:
        return "the URL's port must be between 1 and 65535"
    return None


def _is_host(host: str) -> bool:
    if ":" not in host:
        return HOST_NAME.fullmatch(host) is not None
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order."""
    loop = asyncio.get_running_loop()
    try:
        answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        detail = getattr(exc, "strerror", None) or "no such name"
        raise OutboundError(f"could not resolve {host}: {detail.lower()}") from exc

    addresses = [ipaddress.ip_address(answer[4][0]) for answer in answers]
    if not addresses:
        raise OutboundError(f"could not resolve {host}: no addresses")
    return list(dict.fromkeys(addresses))


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to checked addresses of the host httpcore asks for.

    httpcore passes the URL's host here and, for https, passes the same host
    to ``start_tls`` as ``server_hostname``: the socket goes to the checked
    address while SNI and certificate verification still use the name, so a
    DNS answer that changes between check and connect has nothing to change.
    """

    def __init__(self, *, allow_loopback: bool) -> None:
        self._allow_loopback = allow_loopback
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        for address in addresses:
            self._check(host, address)

        # Answers are all acceptable now; take the first one that connects.
        failure: Exception = OutboundError(f"could not connect to {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    def _check(self, host: str, address: IPAddress) -> None:
        reason = _refusal(address)
        if reason is None or (self._allow_loopback and _is_loopback(address)):
            return
        if _literal(host) == address:
            raise OutboundError(f"refused {host}: it is {reason}")
        raise OutboundError(f"refused {host}: it resolves to {address}, {reason}")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class _OwnerSlots:
    """A semaphore per owner, kept only while someone holds or awaits it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, owner: str) -> AsyncIterator[None]:
        semaphore = self._semaphores.get(owner)
        if semaphore is None:
            semaphore = self._semaphores[owner] = asyncio.Semaphore(self.size)
        self._users[owner] += 1
        try:
            async with semaphore:
                yield
        finally:
            self._users[owner] -= 1
            if not self._users[owner]:
                del self._users[owner], self._semaphores[owner]


class OutboundClient:
    """Sends JSON to user-configured URLs under the rules in the module docstring.

    ``allow_loopback`` lets tests and local setups use 127.0.0.0/8 and ::1;
    it never opens private or link-local ranges. ``ssl_context`` replaces the
    default trust store, for a private CA or a test certificate.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        connect_timeout_s: float = 2.0,
        deadline_s: float = 5.0,
        max_body_bytes: int = 64 * 1024,
        per_owner_concurrency: int = 4,
        allow_http: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._allow_http = allow_http
        self._connect_timeout_s = connect_timeout_s
        self._deadline_s = deadline_s
        self._max_body_bytes = max_body_bytes
        self._slots = _OwnerSlots(per_owner_concurrency)
        # Owners are bounded by their slots; a pool-wide limit would let a few
        # slow owners queue everyone else's requests.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=None,
            max_keepalive_connections=20,
            keepalive_expiry=15.0,
            network_backend=_PinnedBackend(allow_loopback=allow_loopback),
        )

    async def post_json(
        self, url: str, body: bytes, headers: dict[str, str], *, owner: str
    ) -> Reply:
        """POST ``body`` to ``url`` for ``owner``; raise OutboundError on failure."""
        problem = check_url(url, allow_http=self._allow_http)
        if problem is not None:
            raise OutboundError(problem)
        target = httpx.URL(url)

        loop = asyncio.get_running_loop()
        start = loop.time()
        waited: float | None = None
        try:
            async with asyncio.timeout(self._deadline_s):
                async with self._slots.hold(owner):
                    waited = loop.time() - start
                    return await self._exchange(target, body, headers)
        except TimeoutError:
            waited = loop.time() - start if waited is None else waited
            raise OutboundError(self._late(target, waited)) from None

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def _exchange(
        self, target: httpx.URL, body: bytes, headers: dict[str, str]
    ) -> Reply:
        where = target.netloc.decode("ascii")
        url = httpcore.URL(
            scheme=target.raw_scheme,
            host=target.raw_host,
            port=target.port,
            target=target.raw_path,
        )
        try:
            async with self._pool.stream(
                "POST",
                url,
                headers=_request_headers(target, body, headers),
                content=body,
                extensions={"timeout": {"connect": self._connect_timeout_s}},
            ) as response:
                return await self._read(response)
        except httpcore.ConnectTimeout as exc:
            seconds = _seconds(self._connect_timeout_s)
            raise OutboundError(f"connecting to {where} took over {seconds}") from exc
        except httpcore.ConnectError as exc:
            raise OutboundError(
                f"could not connect to {where}: {_describe(exc)}"
            ) from exc
        except httpcore.LocalProtocolError as exc:
            raise OutboundError(f"the request could not be sent: {exc}") from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise OutboundError(
                f"the connection to {where} failed before the reply was complete"
            ) from exc

    async def _read(self, response: httpcore.Response) -> Reply:
        headers = _header_dict(response.headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            raise self._too_large()

        body = bytearray()
        async for chunk in response.aiter_stream():
            body += chunk
            if len(body) > self._max_body_bytes:
                raise self._too_large()

        return Reply(status=response.status, headers=headers, body=bytes(body))

    def _too_large(self) -> OutboundError:
        return OutboundError(f"the reply was larger than {_size(self._max_body_bytes)}")

    def _late(self, target: httpx.URL, waited: float) -> str:
        where = target.netloc.decode("ascii")
        message = f"{where} did not reply within {_seconds(self._deadline_s)}"
        if waited < 0.05:
            return message
        return (
            f"{message}, {waited:.1f} s of it spent waiting for earlier requests "
            "of the same owner to finish"
        )


def _request_headers(
    target: httpx.URL, body: bytes, headers: dict[str, str]
) -> list[tuple[bytes, bytes]]:
    given = {
        name.lower(): value
        for name, value in headers.items()
        if name.lower() not in RESERVED_HEADERS
    }
    given.setdefault("content-type", "application/json")
    given.setdefault("user-agent", "openfxn")
    return [
        (b"host", target.netloc),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"accept-encoding", b"identity"),
        *((name.encode(), value.encode()) for name, value in given.items()),
    ]


def _header_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def _describe(exc: httpcore.ConnectError) -> str:
    """A short cause for a failed connect or TLS handshake, without source paths.

    httpcore keeps the original error as the first argument; asyncio hides the
    plain errno text of a refused connect behind its own wording.
    """
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"its TLS certificate was not accepted ({cause.verify_message})"
    if isinstance(cause, ssl.SSLError):
        return f"the TLS handshake failed ({cause.reason or 'unknown reason'})"
    while isinstance(cause, BaseException):
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno).lower()
        cause = cause.__cause__
    return "the connection failed"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _size(value: int) -> str:
    if value % 1024:
        return f"{value} bytes"
    return f"{value // 1024} KiB"
