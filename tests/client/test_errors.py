"""Each error class, raised by a real server (or, for what a healthy test
server never answers, by a stand-in transport), with each client."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from openfxn import (
    APIError,
    AuthenticationError,
    ConnectionError,
    Function,
    InvalidRequestError,
    NotFoundError,
    OpenfxnError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    SpendLimitError,
    TimeoutError,
)
from tests.client.conftest import Tags, fresh_tag
from tests.conftest import Account
from tests.integration.support import LiveServer, free_port


@pytest.fixture
def spendthrift(as_rival: Function) -> Iterator[Function]:
    """The rival, with a monthly spend limit of 0, removed afterwards."""
    as_rival.users.update(spend_limit=0)
    yield as_rival
    as_rival.users.update(spend_limit=None)


def test_unknown_key_is_authentication_error(live_server: LiveServer) -> None:
    fxn = Function("ofxn_not_a_key", live_server.url)
    with fxn, pytest.raises(AuthenticationError) as caught:
        fxn.users.retrieve()

    assert caught.value.status == 401
    assert "access key" in caught.value.message


def test_anonymous_own_profile_is_authentication_error(
    live_server: LiveServer,
) -> None:
    with Function(api_url=live_server.url) as fxn, pytest.raises(AuthenticationError):
        fxn.users.retrieve()


def test_creating_under_another_name_is_permission_denied(
    fxn: Function, rival: Account
) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        fxn.predictors.create(fresh_tag(rival, "theirs"), "data:,x")

    assert caught.value.status == 403
    assert "your own name" in caught.value.message


def test_unknown_predictor_is_not_found(fxn: Function, owner: Account) -> None:
    with pytest.raises(NotFoundError) as caught:
        fxn.predictions.create(fresh_tag(owner, "nowhere"), {"x": 1})

    assert caught.value.status == 404


def test_bad_input_is_invalid_request(fxn: Function, tags: Tags) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        fxn.predictors.list(count=1000)

    assert caught.value.status == 400
    assert caught.value.errors == [caught.value.message]


def test_taken_tag_is_invalid_request_409(fxn: Function, tags: Tags) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        fxn.predictors.create(tags.echo, "data:,def predict(): pass")

    assert caught.value.status == 409
    assert "overwrite" in caught.value.message


def test_spend_limit_reached_is_spend_limit_error(
    spendthrift: Function, tags: Tags
) -> None:
    with pytest.raises(SpendLimitError) as caught:
        spendthrift.predictions.create(tags.echo, {"value": 1})

    assert caught.value.status == 402
    assert "spendLimit" in caught.value.message


def test_unreachable_server_is_connection_error() -> None:
    fxn = Function("key", f"http://127.0.0.1:{free_port()}", max_retries=1)
    with fxn, pytest.raises(ConnectionError) as caught:
        fxn.users.retrieve()

    assert isinstance(caught.value, OpenfxnError)
    assert "OPENFXN_API_URL" in caught.value.message


@contextlib.contextmanager
def stand_in(answer: Callable[[httpx.Request], httpx.Response]) -> Iterator[Function]:
    """A client whose requests ``answer`` answers, tried once."""
    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        yield Function("key", "http://server.test", max_retries=0, http_client=http)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (402, SpendLimitError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, InvalidRequestError),
        (413, InvalidRequestError),
        (422, InvalidRequestError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_envelope_maps_to_class_by_status(status: int, kind: type[APIError]) -> None:
    body = {"error": "It went wrong.", "errors": [{"message": "It went wrong."}]}
    reply = httpx.Response(status, json=body)
    with stand_in(lambda _: reply) as fxn, pytest.raises(kind) as caught:
        fxn.users.retrieve()

    assert (caught.value.status, caught.value.message) == (status, "It went wrong.")


def test_non_json_error_keeps_status_and_text() -> None:
    reply = httpx.Response(502, text="Bad gateway")
    with stand_in(lambda _: reply) as fxn, pytest.raises(ServerError) as caught:
        fxn.users.retrieve()

    assert caught.value.status == 502
    assert "Bad gateway" in caught.value.message


def test_read_timeout_is_timeout_error() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with stand_in(hang) as fxn, pytest.raises(TimeoutError):
        fxn.users.retrieve()
