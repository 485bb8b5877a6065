"""The official ``fxn`` client from PyPI, in a virtualenv of its own, against a
real server: the CLI's ``auth`` commands and ``users.retrieve``.

0.0.26 is the reference client; 0.0.23 is the last module-style one
(``fxn.access_key`` / ``fxn.api_url`` globals, ``fxn.User.retrieve``). Both take
the API root in FXN_API_URL and append ``/graph`` themselves. The virtualenvs
live in ``.cache/fxn-<version>`` at the repository root and are reused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import COMMAND_TIMEOUT_S, LiveServer, loopback_env

pytestmark = [pytest.mark.compat, pytest.mark.timeout(300)]

CACHE = Path(__file__).resolve().parents[2] / ".cache"
INSTALL_TIMEOUT_S = 240
BIN = "Scripts" if os.name == "nt" else "bin"
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


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{result.args!r} exited {result.returncode}.\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )


def is_installed(venv: Path, version: str) -> bool:
    python, cli = venv / BIN / "python", venv / BIN / "fxn"
    if not (python.exists() and cli.exists()):
        return False
    check = "import fxn, sys; sys.exit(fxn.__version__ != sys.argv[1])"
    result = subprocess.run(
        [str(python), "-c", check, version],
        capture_output=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return result.returncode == 0


def install(version: str) -> Path:
    """The virtualenv holding ``fxn==version``, created with uv if needed."""
    venv = CACHE / f"fxn-{version}"
    if is_installed(venv, version):
        return venv
    beside = Path(sys.executable).parent / "uv"  # scripts/install puts it there
    uv = str(beside) if beside.exists() else shutil.which("uv")
    if uv is None:
        pytest.fail(
            f"uv is not installed, so fxn=={version} cannot be installed into "
            f"{venv}. Install uv (https://docs.astral.sh/uv/) and run again."
        )
    shutil.rmtree(venv, ignore_errors=True)
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(venv / BIN / "python"),
         f"fxn=={version}"],
    ]  # fmt: skip
    for step in steps:
        try:
            result = subprocess.run(
                step,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"installing fxn=={version}: {step!r} took too long")
        if result.returncode != 0:
            pytest.fail(
                f"could not install the official client fxn=={version} into "
                f"{venv} (it needs PyPI).\n{describe(result)}",
                pytrace=False,
            )
    if not is_installed(venv, version):
        pytest.fail(f"fxn=={version} was installed into {venv} but does not import")
    return venv


@dataclass(frozen=True)
class OfficialClient:
    """One installed version of the official client, pointed at the server."""

    version: str
    venv: Path
    server: LiveServer

    def run(
        self, program: str, *arguments: str, home: Path
    ) -> subprocess.CompletedProcess[str]:
        env = loopback_env(
            HOME=str(home),
            USERPROFILE=str(home),
            FXN_API_URL=self.server.url,
            COLUMNS="200",
            NO_COLOR="1",
            TERM="dumb",
        )
        for name in ("FXN_ACCESS_KEY", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(name, None)
        return subprocess.run(
            [str(self.venv / BIN / program), *arguments],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=COMMAND_TIMEOUT_S,
            env=env,
            cwd=home,
            check=False,
        )

    def cli(self, *arguments: str, home: Path) -> subprocess.CompletedProcess[str]:
        result = self.run("fxn", *arguments, home=home)
        assert result.returncode == 0, describe(result)
        return result

    def python(
        self, script: str, *arguments: str, home: Path
    ) -> subprocess.CompletedProcess[str]:
        result = self.run("python", "-c", script, *arguments, home=home)
        assert result.returncode == 0, describe(result)
        return result


@pytest.fixture(scope="session", params=["0.0.26", "0.0.23"])
def official_client(
    request: pytest.FixtureRequest, live_server: LiveServer
) -> OfficialClient:
    version: str = request.param
    return OfficialClient(version, install(version), live_server)


def printed_json(result: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"the CLI did not print JSON.\n{describe(result)}")


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
