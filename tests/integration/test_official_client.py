"""The official ``fxn`` client from PyPI, in a virtualenv of its own, against a
real server: the CLI's ``auth`` commands and ``users.retrieve``.

0.0.26 is the reference client; 0.0.23 is the last module-style one
(``fxn.access_key`` / ``fxn.api_url`` globals, ``fxn.User.retrieve``). Both take
the API root in FXN_API_URL and append ``/graph`` themselves. Installing and
running them is in ``official.py``; the ``official_client`` fixture is in
``conftest.py``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.official import OfficialClient, describe, printed_json
from tests.integration.support import LiveServer

pytestmark = [pytest.mark.compat, pytest.mark.timeout(300)]

BAD_KEY = "ofxn_not-a-key-this-server-issued"

FUNCTION_RETRIEVE = """\
import sys
from fxn import Function
user = Function(access_key=sys.argv[1]).users.retrieve()
print(None if user is None else user.username)
"""

MODULE_RETRIEVE = """\
import sys
import fxn
fxn.access_key = sys.argv[1]
fxn.api_url = sys.argv[2]
user = fxn.User.retrieve()
print(None if user is None else user.username)
"""


def assert_profile(
    result: subprocess.CompletedProcess[str], server: LiveServer
) -> None:
    profile = printed_json(result)
    assert isinstance(profile, dict), describe(result)
    assert profile.get("username") == server.username, describe(result)
    assert profile.get("email") == server.email, describe(result)


def test_cli_login_shows_profile(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    key = official_client.server.key
    result = official_client.cli("auth", "login", key, home=tmp_path)
    assert_profile(result, official_client.server)
    credentials = tmp_path / ".fxn" / "credentials"
    assert credentials.read_text() == key


@pytest.mark.parametrize("official_client", ["0.0.26"], indirect=True)
def test_cli_status_reads_credentials(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    server = official_client.server
    assert printed_json(official_client.cli("auth", "status", home=tmp_path)) is None
    official_client.cli("auth", "login", server.key, home=tmp_path)
    assert_profile(official_client.cli("auth", "status", home=tmp_path), server)


@pytest.mark.parametrize("official_client", ["0.0.26"], indirect=True)
def test_cli_bad_login_prints_null(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    official_client.cli("auth", "login", official_client.server.key, home=tmp_path)
    result = official_client.cli("auth", "login", BAD_KEY, home=tmp_path)
    assert result.stdout.strip() == "null", describe(result)
    assert not (tmp_path / ".fxn" / "credentials").exists()
    result = official_client.cli("auth", "status", home=tmp_path)
    assert result.stdout.strip() == "null", describe(result)


@pytest.mark.parametrize("official_client", ["0.0.26"], indirect=True)
def test_function_retrieves_current_user(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    key = official_client.server.key
    result = official_client.python(FUNCTION_RETRIEVE, key, home=tmp_path)
    assert result.stdout.strip() == official_client.server.username, describe(result)


@pytest.mark.parametrize("official_client", ["0.0.26"], indirect=True)
def test_function_bad_key_gives_none(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    result = official_client.python(FUNCTION_RETRIEVE, BAD_KEY, home=tmp_path)
    assert result.stdout.strip() == "None", describe(result)


@pytest.mark.parametrize("official_client", ["0.0.23"], indirect=True)
def test_module_api_retrieves_user(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    url, key = official_client.server.url, official_client.server.key
    result = official_client.python(MODULE_RETRIEVE, key, url, home=tmp_path)
    assert result.stdout.strip() == official_client.server.username, describe(result)


@pytest.mark.parametrize("official_client", ["0.0.23"], indirect=True)
def test_module_api_bad_key_none(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    url = official_client.server.url
    result = official_client.python(MODULE_RETRIEVE, BAD_KEY, url, home=tmp_path)
    assert result.stdout.strip() == "None", describe(result)
