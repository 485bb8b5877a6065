"""``openfxn auth login|status|logout`` against the live server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from openfxn import load_credentials
from tests.cli.conftest import Run, failure
from tests.conftest import Account
from tests.integration.support import LiveServer


@pytest.fixture
def anonymous(live_server: LiveServer) -> Run:
    """The CLI with no key but the stored one."""
    return Run(live_server.url, None)


def test_login_checks_the_key_then_stores_it(
    anonymous: Run, hedy: Account, live_server: LiveServer, isolated: Path
) -> None:
    result = anonymous("auth", "login", hedy.key, "--api-url", live_server.url)

    assert result.exit_code == 0, failure(result)
    assert result.stdout.splitlines() == [
        f"Logged in to {live_server.url} as hedy (hedy@example.com).",
        f"The key is stored in {isolated}.",
    ]
    stored = load_credentials(path=isolated)
    assert stored is not None
    assert (stored.access_key, stored.api_url) == (hedy.key, live_server.url)
    assert stat.S_IMODE(isolated.stat().st_mode) == 0o600


def test_login_reads_a_piped_key(anonymous: Run, hedy: Account) -> None:
    result = anonymous("auth", "login", input=f"{hedy.key}\n")

    assert result.exit_code == 0, failure(result)
    assert "as hedy" in result.stdout
    status = anonymous("auth", "status")
    assert status.stdout.startswith("Logged in to"), failure(status)


def test_login_with_a_bad_key_stores_nothing(anonymous: Run, isolated: Path) -> None:
    result = anonymous("auth", "login", "ofxn_notakey")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The access key is not valid")
    assert len(result.stderr.splitlines()) == 1
    assert not isolated.exists()


def test_status_names_the_stored_credentials(
    anonymous: Run, hedy: Account, isolated: Path, live_server: LiveServer
) -> None:
    anonymous("auth", "login", hedy.key)

    result = anonymous("auth", "status")

    assert result.exit_code == 0, failure(result)
    assert result.stdout.splitlines() == [
        f"Logged in to {live_server.url} as hedy (hedy@example.com).",
        f"The key comes from {isolated}.",
    ]


def test_status_names_the_variable_the_key_came_from(run: Run) -> None:
    result = run("auth", "status", "--json")

    assert result.exit_code == 0, failure(result)
    shown = json.loads(result.stdout)
    assert shown["keySource"] == "OPENFXN_ACCESS_KEY"
    assert shown["user"]["username"] == "hedy"
    assert shown["apiUrl"] == run.url


def test_status_without_a_key_says_how_to_log_in(
    anonymous: Run, live_server: LiveServer
) -> None:
    result = anonymous("auth", "status")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Not logged in to {live_server.url}. Log in with "
        "'openfxn auth login KEY'.\n"
    )


def test_logout_deletes_the_stored_key(
    anonymous: Run, hedy: Account, isolated: Path
) -> None:
    anonymous("auth", "login", hedy.key)

    first = anonymous("auth", "logout")
    second = anonymous("auth", "logout")

    assert first.stdout == f"Logged out: deleted {isolated}.\n"
    assert not isolated.exists()
    assert (second.exit_code, second.stdout) == (
        0,
        f"Not logged in: there is no {isolated}.\n",
    )
    assert anonymous("auth", "status").exit_code == 1


def test_credentials_go_under_xdg_config_home(
    anonymous: Run, hedy: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENFXN_CREDENTIALS")

    result = anonymous("auth", "login", hedy.key)

    expected = tmp_path / "xdg" / "openfxn" / "credentials.json"
    assert f"The key is stored in {expected}." in result.stdout, failure(result)
    assert expected.exists()
