"""Helpers for the live-server tests: the server handle and a loopback-only
environment for subprocesses."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

HOST = "127.0.0.1"
USERNAME = "peter"
EMAIL = "peter@example.com"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 60.0
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it

OPENFXN = Path(sys.executable).parent / "openfxn"

PROXY_VARIABLES = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy"}
)


def loopback_env(**extra: str) -> dict[str, str]:
    """This process's environment without proxies or OPENFXN_* settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name.lower() not in PROXY_VARIABLES and not name.startswith("OPENFXN_")
    }
    env["NO_PROXY"] = env["no_proxy"] = f"{HOST},localhost"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def group_is_empty(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a process of the group exists (owned by another user)
        return False
    return False


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL, peter's access key, data dir and log."""

    url: str
    key: str = field(repr=False)  # keep it out of failure reports
    data: Path
    log: Path
    username: str = USERNAME
    email: str = EMAIL

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(
        self, condition: Callable[[str], bool], timeout: float = 5.0
    ) -> str:
        """The log once ``condition`` holds for it (the access line is written
        just after the response, so it can trail the client by a moment)."""
        deadline = time.monotonic() + timeout
        text = self.log_text()
        while not condition(text) and time.monotonic() < deadline:
            time.sleep(0.05)
            text = self.log_text()
        return text

    def secrets(self) -> list[str]:
        """Every form of the key that must never reach the log."""
        basic = base64.b64encode(f"{self.key}:".encode()).decode()
        return [self.key, basic, self.key[-16:]]


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return "(no log)"
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> bool:
    """True once GET /health answers 200; False if the process exited first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    pytest.fail(
        f"openfxn serve did not answer 200 on {url}/health within "
        f"{START_TIMEOUT_S:.0f} s. Server log:\n{tail(log)}"
    )


def stop(process: subprocess.Popen[bytes]) -> tuple[int, bool]:
    """SIGTERM, then SIGKILL after a timeout; returns (exit status, killed)."""
    if process.poll() is not None:
        return process.returncode, False
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_TIMEOUT_S), False
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=STOP_TIMEOUT_S), True


def create_user(
    data: Path,
    variables: dict[str, str] | None = None,
    username: str = USERNAME,
    email: str = EMAIL,
) -> str:
    """Create a user (peter unless ``username`` says otherwise) with ``openfxn
    admin create-user``; return the key it prints. ``variables`` are settings
    (``OPENFXN_*``) for the command."""
    command = [
        str(OPENFXN), "admin", "create-user", username,
        "--email", email, "--data", str(data),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        env=loopback_env(**(variables or {})),
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, (
        f"openfxn admin create-user exited {result.returncode}.\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return lines[-1].strip()


def start_server(
    data: Path, log: Path, variables: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``openfxn serve`` on ``data``, in a process group of its own, logging to
    ``log``, with ``variables`` as settings (``OPENFXN_*``); returns the process
    and its URL once it answers.

    Its uv runs offline: a predictor's requirements install from uv's cache,
    which holds what the development environment installed (numpy, Pillow),
    and a test never reaches an index.
    """
    for _attempt in range(START_ATTEMPTS):
        port = free_port()
        url = f"http://{HOST}:{port}"
        command = [
            str(OPENFXN), "serve", "--data", str(data), "--host", HOST,
            "--port", str(port), "--log-format", "text", "--log-level", "info",
        ]  # fmt: skip
        with log.open("ab") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=loopback_env(UV_OFFLINE="1", **(variables or {})),
                start_new_session=True,  # its own process group, checked at teardown
            )
        try:
            ready = wait_until_ready(process, url, log)
        except BaseException:  # timed out or interrupted: leave nothing running
            stop(process)
            raise
        if ready:
            return process, url
        process.wait()
    pytest.fail(
        f"openfxn serve exited before answering, {START_ATTEMPTS} times. "
        f"Server log:\n{tail(log)}"
    )
