"""The official ``fxn`` client from PyPI, one version per virtualenv, pointed at
a live server: installing it with uv and running its CLI and Python.

The virtualenvs live in ``.cache/fxn-<version>`` at the repository root and are
reused. Every run gets its own home directory (where the CLI keeps
``~/.fxn/credentials``) and no key from this process's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import COMMAND_TIMEOUT_S, LiveServer, loopback_env

CACHE = Path(__file__).resolve().parents[2] / ".cache"
INSTALL_TIMEOUT_S = 240
BIN = "Scripts" if os.name == "nt" else "bin"
# Clients before this one take the GraphQL URL itself in FXN_API_URL; later
# ones take the API root and append /graph.
ROOT_API_URL_SINCE = (0, 0, 22)


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{result.args!r} exited {result.returncode}.\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )


def printed_json(result: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"the client did not print JSON.\n{describe(result)}")


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


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

    @property
    def api_url(self) -> str:
        """What this version expects in FXN_API_URL (and ``fxn.api_url``)."""
        if release(self.version) < ROOT_API_URL_SINCE:
            return f"{self.server.url}/graph"
        return self.server.url

    def run(
        self,
        program: str,
        *arguments: str,
        home: Path,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment = loopback_env(
            HOME=str(home),
            USERPROFILE=str(home),
            FXN_API_URL=self.api_url,
            COLUMNS="200",
            NO_COLOR="1",
            TERM="dumb",
        )
        for name in ("FXN_ACCESS_KEY", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            environment.pop(name, None)
        environment.update(env or {})
        return subprocess.run(
            [str(self.venv / BIN / program), *arguments],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=COMMAND_TIMEOUT_S,
            env=environment,
            cwd=home,
            check=False,
        )

    def cli(
        self, *arguments: str, home: Path, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = self.run("fxn", *arguments, home=home, env=env)
        assert result.returncode == 0, describe(result)
        return result

    def python(
        self, script: str, *arguments: str, home: Path
    ) -> subprocess.CompletedProcess[str]:
        result = self.run("python", "-c", script, *arguments, home=home)
        assert result.returncode == 0, describe(result)
        return result
