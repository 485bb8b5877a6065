"""The users service against a real server, with each client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openfxn import Function, InvalidRequestError
from tests.conftest import Account


@pytest.fixture
def restored(fxn: Function) -> Iterator[Function]:
    """``fxn``, with the profile fields a test changes put back afterwards."""
    yield fxn
    fxn.users.update(bio=None, website=None, name=None, authorization_url=None)


def test_retrieve_returns_own_profile(fxn: Function, owner: Account) -> None:
    user = fxn.users.retrieve()

    assert user.username == owner.username
    assert user.email == f"{owner.username}@example.com"


def test_retrieve_other_user_hides_email(fxn: Function, rival: Account) -> None:
    user = fxn.users.retrieve(rival.username)

    assert user.username == rival.username
    assert user.email is None


def test_update_keeps_unnamed_fields_and_clears_none(restored: Function) -> None:
    restored.users.update(name="Cleo", bio="Writes predictors.")

    updated = restored.users.update(bio=None)

    assert updated.name == "Cleo"
    assert updated.bio is None


def test_update_sets_web_fields(restored: Function) -> None:
    updated = restored.users.update(website="https://cleo.example.com", github="cleo")

    assert updated.website == "https://cleo.example.com"
    assert restored.users.retrieve().github == "cleo"


def test_update_refuses_invalid_field(restored: Function) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        restored.users.update(website="not a web address")

    assert caught.value.status == 400
    assert "website" in caught.value.message


def test_rotate_authorization_secret_replaces_it(restored: Function) -> None:
    first = restored.users.update(authorization_url="https://auth.example.com/fxn")

    rotated = restored.users.rotate_authorization_secret()

    assert first.authorization_secret and first.authorization_secret.startswith(
        "whsec_"
    )
    assert rotated.authorization_secret not in (None, first.authorization_secret)
    assert rotated.authorization_url == "https://auth.example.com/fxn"
