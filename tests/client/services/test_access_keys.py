"""The access_keys service against a real server, with each client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openfxn import AuthenticationError, Function, NotFoundError
from tests.conftest import Account
from tests.integration.support import LiveServer


def test_created_key_works_until_revoked(
    fxn: Function, live_server: LiveServer, owner: Account
) -> None:
    created = fxn.access_keys.create("laptop")

    with Function(created.key, live_server.url) as other:
        assert other.users.retrieve().username == owner.username
        fxn.access_keys.revoke(created.access_key.id)
        with pytest.raises(AuthenticationError):
            other.users.retrieve()


def test_list_shows_hint_never_key(fxn: Function) -> None:
    created = fxn.access_keys.create("listed")

    listed = {key.id: key for key in fxn.access_keys.list()}

    assert listed[created.access_key.id].name == "listed"
    start, _, end = listed[created.access_key.id].hint.partition("…")
    assert created.key.startswith(start) and created.key.endswith(end)
    assert created.key not in repr(created)
    fxn.access_keys.revoke(created.access_key.id)


def test_create_with_expiry_records_it(fxn: Function) -> None:
    expires = datetime.now(UTC) + timedelta(days=1)

    created = fxn.access_keys.create("temporary", expires=expires)

    assert created.access_key.expires is not None
    assert abs(created.access_key.expires - expires) < timedelta(seconds=1)
    fxn.access_keys.revoke(created.access_key.id)


def test_revoke_unknown_key_is_not_found(fxn: Function) -> None:
    with pytest.raises(NotFoundError):
        fxn.access_keys.revoke("nosuchkey")
