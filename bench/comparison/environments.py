"""The peers' virtual environments: pinned, built once with uv, then reused.

They live outside the repository (``~/.cache/openfxn-bench`` by default) and
never touch the project's own environment. An environment whose recorded
requirements differ from the pins is built again from scratch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import REPO, TAIL_LINES, run_command

MARKER = "openfxn-bench.json"
INSTALL_TIMEOUT_S = 1800
VERSIONS = (
    "import importlib.metadata as m, json, sys; "
    "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
)


class InstallError(RuntimeError):
    """An environment could not be built; the message says why and what to do."""


@dataclass(frozen=True)
class Environment:
    """A virtual environment: what goes in, and which versions the report names."""

    name: str
    requirements: tuple[str, ...]
    shown: tuple[str, ...]

    def path(self, root: Path) -> Path:
        return root / self.name

    def python(self, root: Path) -> Path:
        return self.path(root) / "bin" / "python"


FLOOR = Environment(
    "floor",
    ("starlette==1.10.0", "uvicorn[standard]==0.55.0", "numpy==2.4.6"),
    ("starlette", "uvicorn", "uvloop", "httptools", "numpy"),
)
BENTOML = Environment(
    "bentoml",
    ("bentoml==1.4.40", "numpy==2.4.6"),
    ("bentoml", "starlette", "uvicorn", "numpy"),
)
RAY = Environment(
    "ray",
    ("ray[serve]==2.60.0", "numpy==2.4.6"),
    ("ray", "fastapi", "starlette", "uvicorn", "pydantic", "numpy"),
)


def find_uv() -> str:
    """uv from the project's environment, else from PATH."""
    venv_uv = REPO / ".venv" / "bin" / "uv"
    found = str(venv_uv) if venv_uv.exists() else shutil.which("uv")
    if found is None:
        raise InstallError(
            "uv is not installed: run scripts/install, or pip install uv"
        )
    return found


def is_built(environment: Environment, root: Path) -> bool:
    marker = environment.path(root) / MARKER
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return bool(recorded == list(environment.requirements))


def ensure(environment: Environment, root: Path) -> Path:
    """The environment's Python, building the environment first if needed."""
    if not is_built(environment, root):
        build(environment, root)
    return environment.python(root)


def build(environment: Environment, root: Path) -> None:
    print(
        f"installing {' '.join(environment.requirements)} into "
        f"{environment.path(root)} (once; later runs reuse it)",
        file=sys.stderr,
        flush=True,
    )
    target = environment.path(root)
    shutil.rmtree(target, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    uv = find_uv()
    run_uv(environment, [uv, "venv", "--quiet", "--python", base, str(target)])
    python = str(environment.python(root))
    install = [uv, "pip", "install", "--quiet", "--compile-bytecode"]
    run_uv(environment, [*install, "--python", python, *environment.requirements])
    (target / MARKER).write_text(json.dumps(list(environment.requirements)))


def run_uv(environment: Environment, command: list[str]) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    try:
        done = run_command(command, INSTALL_TIMEOUT_S, env)
    except subprocess.TimeoutExpired:
        raise InstallError(
            f"building the {environment.name} environment took over "
            f"{INSTALL_TIMEOUT_S} s; check the network and run again"
        ) from None
    if done.returncode != 0:
        output = "\n".join(done.stderr.strip().splitlines()[-TAIL_LINES:])
        raise InstallError(
            f"could not build the {environment.name} environment "
            f"({' '.join(environment.requirements)}); uv said:\n{output}\n"
            "Check the network (PyPI) and run again, or leave out the servers "
            "that need it with --only."
        )


def versions(environment: Environment, root: Path) -> dict[str, str]:
    """The installed versions of the distributions the report names."""
    command = [str(environment.python(root)), "-c", VERSIONS, *environment.shown]
    done = run_command(command, 60)
    if done.returncode != 0:
        return {name: "?" for name in environment.shown}
    found: dict[str, str] = json.loads(done.stdout)
    return found
