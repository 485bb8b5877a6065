"""Stored credentials, and where a client's key and server come from."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from openfxn import (
    DEFAULT_API_URL,
    Credentials,
    Function,
    credentials_path,
    delete_credentials,
    load_credentials,
    save_credentials,
)
from openfxn._client.credentials import resolve


def test_saved_credentials_load_back(tmp_path: Path) -> None:
    path = tmp_path / "config" / "credentials.json"

    save_credentials("ofxn_key", "http://fxn.test:9000/", path=path)

    assert load_credentials(path=path) == Credentials(
        "ofxn_key", "http://fxn.test:9000"
    )


def test_credentials_are_private_to_their_owner(tmp_path: Path) -> None:
    path = tmp_path / "config" / "credentials.json"

    save_credentials("ofxn_key", path=path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


def test_credentials_key_is_not_in_repr() -> None:
    assert "secret" not in repr(Credentials("secret"))


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENFXN_CREDENTIALS")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/somewhere")

    assert credentials_path() == Path("/somewhere/openfxn/credentials.json")


def test_delete_says_whether_there_were_any() -> None:
    save_credentials("ofxn_key")

    assert delete_credentials() is True
    assert delete_credentials() is False
    assert load_credentials() is None


def test_unreadable_credentials_are_none(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("{not json", encoding="utf-8")

    assert load_credentials(path=path) is None


def test_nothing_set_gives_anonymous_default() -> None:
    assert resolve(None, None) == (None, DEFAULT_API_URL)


def test_arguments_come_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENFXN_ACCESS_KEY", "from-env")
    monkeypatch.setenv("OPENFXN_API_URL", "http://env.test")

    assert resolve("given", "http://given.test") == ("given", "http://given.test")


def test_openfxn_variables_before_fxn_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FXN_ACCESS_KEY", "fxn")
    monkeypatch.setenv("FXN_API_URL", "http://fxn.test")
    assert resolve(None, None) == ("fxn", "http://fxn.test")

    monkeypatch.setenv("OPENFXN_ACCESS_KEY", "openfxn")
    monkeypatch.setenv("OPENFXN_API_URL", "http://openfxn.test")
    assert resolve(None, None) == ("openfxn", "http://openfxn.test")


def test_stored_credentials_come_last() -> None:
    save_credentials("stored", "http://stored.test")

    assert resolve(None, None) == ("stored", "http://stored.test")
    assert resolve("given", None) == ("given", "http://stored.test")


def test_stored_key_never_goes_to_another_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save_credentials("stored", "http://stored.test")
    monkeypatch.setenv("OPENFXN_API_URL", "http://other.test")

    assert resolve(None, None) == (None, "http://other.test")


def test_old_graph_url_means_its_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FXN_API_URL", "https://api.fxn.test/graph")

    assert resolve(None, None)[1] == "https://api.fxn.test"


def test_client_shows_url_but_never_key() -> None:
    with Function("ofxn_secret", "http://fxn.test/") as fxn:
        shown = repr(fxn)

    assert shown == "Function(api_url='http://fxn.test', has_access_key=True)"
