"""Retries, backoff, error mapping and logging of the core, through each
client, against stand-in transports (``httpx.MockTransport``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from openfxn import (
    AsyncFunction,
    ConnectionError,
    Function,
    RateLimitedError,
    ServerError,
    TimeoutError,
)
from openfxn._client.sansio import core
from openfxn._client.sansio.core import Core, backoff, segment
from openfxn._client.sansio.effects import Failure, Request, Response

Answer = Callable[[httpx.Request], httpx.Response]
USER = {"username": "ada", "created": "2026-01-01T00:00:00Z"}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the core's own reference is patched; ``backoff`` here stays real.
    monkeypatch.setattr(core, "backoff", lambda attempt: 0.0)


class Script:
    """Answers requests in turn: a status, or an exception to raise."""

    def __init__(self, *steps: int | type[httpx.TransportError]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if not isinstance(step, int):
            raise step("scripted", request=request)
        body = USER if step < 400 else {"error": f"status {step}"}
        return httpx.Response(step, json=body)


def call(script: Script, method: str = "GET", retries: int = 2) -> None:
    with httpx.Client(transport=httpx.MockTransport(script)) as http:
        fxn = Function(
            "key", "http://server.test", max_retries=retries, http_client=http
        )
        if method == "GET":
            fxn.users.retrieve()
        else:
            fxn.users.update(bio="x")


def test_read_is_retried_after_503() -> None:
    script = Script(503, 200)

    call(script)

    assert len(script.requests) == 2


def test_retries_stop_at_max_retries() -> None:
    script = Script(503, 503, 503, 200)

    with pytest.raises(ServerError):
        call(script, retries=2)

    assert len(script.requests) == 3


def test_write_is_not_retried_after_503() -> None:
    script = Script(503, 200)

    with pytest.raises(ServerError):
        call(script, "PATCH")

    assert len(script.requests) == 1


def test_write_is_retried_when_never_sent() -> None:
    script = Script(httpx.ConnectError, 200)

    call(script, "PATCH")

    assert len(script.requests) == 2


def test_write_is_not_retried_after_it_was_sent() -> None:
    script = Script(httpx.ReadTimeout, 200)

    with pytest.raises(TimeoutError):
        call(script, "PATCH")

    assert len(script.requests) == 1


def test_read_is_retried_after_it_was_sent() -> None:
    script = Script(httpx.ReadError, 200)

    call(script)

    assert len(script.requests) == 2


def test_connection_errors_exhaust_into_connection_error() -> None:
    script = Script(httpx.ConnectError, httpx.ConnectError)

    with pytest.raises(ConnectionError, match="is running"):
        call(script, retries=1)


def test_long_retry_after_is_not_waited_for() -> None:
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json={"error": "Slow down."}, headers={"Retry-After": "3600"}
        )

    with httpx.Client(transport=httpx.MockTransport(busy)) as http:
        fxn = Function("key", "http://server.test", http_client=http)
        with pytest.raises(RateLimitedError, match="Slow down"):
            fxn.users.retrieve()


def test_retry_after_sets_the_delay() -> None:
    plain = Core(None, "http://server.test")
    request = plain.request("GET", "/user")
    answer = Response(503, {"retry-after": "1.5"})

    assert plain.retry_delay(request, answer, 0) == 1.5


def test_unsent_failure_is_retried_for_any_method() -> None:
    plain = Core(None, "http://server.test")
    post = plain.request("POST", "/predict/@a/b", body={})

    assert plain.retry_delay(post, Failure("connect", False, "refused"), 0) is not None
    assert plain.retry_delay(post, Failure("timeout", True, "late"), 0) is None


def test_backoff_doubles_with_jitter_up_to_cap() -> None:
    ranges = [(backoff(n), core.BACKOFF_BASE_S * 2**n) for n in range(3)]

    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in ranges)
    assert backoff(20) <= core.BACKOFF_CAP_S


async def test_async_client_retries_reads() -> None:
    script = Script(502, 200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as http:
        fxn = AsyncFunction("key", "http://server.test", http_client=http)
        user = await fxn.users.retrieve()

    assert user.username == "ada"
    assert len(script.requests) == 2


def test_requests_carry_key_only_when_set() -> None:
    keyed = Core("ключ-🔑", "http://server.test").request("GET", "/user")
    anonymous = Core(None, "http://server.test").request("GET", "/user")

    assert keyed.headers["Authorization"] == "Bearer ключ-🔑".encode()
    assert "Authorization" not in anonymous.headers


def test_unset_params_are_left_out() -> None:
    request = Core(None, "http://server.test").request(
        "POST", "/predict/@a/b", params={"stream": True, "dataUrlLimit": None}
    )

    assert request.url == "http://server.test/predict/@a/b?stream=true"


def test_fetch_sends_key_only_to_own_server() -> None:
    plain = Core("secret", "http://server.test")

    own = next(plain.fetch("http://server.test/uploads/a/value/k/x"))
    other = next(plain.fetch("https://elsewhere.test/x"))

    assert isinstance(own, Request) and "Authorization" in own.headers
    assert isinstance(other, Request) and "Authorization" not in other.headers


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("@ada/greeting", "@ada/greeting"),
        ("@ada/..", "@ada/%2E%2E"),
        ("name with space", "name%20with%20space"),
        ("a?b#c", "a%3Fb%23c"),
    ],
)
def test_segment_escapes_what_could_change_the_path(text: str, path: str) -> None:
    assert segment(text) == path


def test_one_log_line_per_request_without_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="openfxn.client")
    script = Script(503, 200)

    call(script)

    lines = [r.getMessage() for r in caplog.records if r.name == "openfxn.client"]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "GET /user 503",
        "GET /user 200",
    ]
    assert all(line.endswith("ms") for line in lines)
    assert not any("key" in line for line in lines)
