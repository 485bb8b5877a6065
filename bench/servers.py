"""The openfxn server under test: started with a user and key, fed predictors.

``running_server`` starts ``openfxn serve`` on a free loopback port, pinned to
the server CPU, with a throwaway data directory and a user made by ``openfxn
admin create-user``; the rest talks to it over REST with that user's key.
Standard library only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    SERVER_CPU,
    TAIL_LINES,
    Tools,
    free_port,
    get,
    launch,
    pinned,
    request,
    run_command,
    wait_until_live,
)
from processes import stop_tree

PROVISION_POLL_S = 0.005
PROVISION_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Server:
    """A running server: its process id, base URL and an access key for it."""

    pid: int
    base_url: str
    key: str


def openfxn_env(
    database_url: str | None, settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for openfxn commands: none of ours, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENFXN_")}
    if database_url is not None:
        env["OPENFXN_DATABASE_URL"] = database_url
    env.update(settings or {})
    return env


def create_key(tools: Tools, data: Path, env: dict[str, str]) -> str:
    """A new user's access key: the last line ``admin create-user`` prints."""
    username = f"bench-{secrets.token_hex(4)}"
    command = [tools.openfxn, "admin", "create-user", username, "--data", str(data)]
    done = run_command(command, 120, env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        output = "\n".join((done.stderr + done.stdout).splitlines()[-TAIL_LINES:])
        raise RuntimeError(f"admin create-user failed, ending with:\n{output}")
    return lines[-1].strip()


def start_server(
    tools: Tools, data: Path, port: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """The server process, pinned to the server CPU, in its own session."""
    command = [
        *(tools.openfxn, "serve", "--data", str(data), "--port", str(port)),
        *("--host", "127.0.0.1", "--log-level", "warning"),
    ]
    return launch(pinned(tools, SERVER_CPU, command), log, env)


def check_key(base_url: str, key: str) -> None:
    """Fail unless GET /user with the key answers 200 with a profile."""
    status, body = get(base_url + "/user", key)
    if status != 200 or "username" not in json.loads(body):
        raise RuntimeError(f"GET /user answered {status}: {body[:300]!r}")


@contextlib.contextmanager
def running_server(
    tools: Tools,
    database_url: str | None,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """A server with a fresh user and key, stopped and cleaned up on exit."""
    with tempfile.TemporaryDirectory(prefix="openfxn-bench-") as temp:
        data, log = Path(temp) / "data", Path(temp) / "server.log"
        env = openfxn_env(database_url, settings)
        key = create_key(tools, data, env)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        process = start_server(tools, data, port, env, log)
        try:
            wait_until_live(process, base_url, log)
            check_key(base_url, key)
            yield Server(pid=process.pid, base_url=base_url, key=key)
        finally:
            stop_tree(process)


# ---------- talking to it ----------


def call(server: Server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Status and JSON reply of one request with the server's key."""
    status, reply = request(
        server.base_url + path,
        method,
        None if body is None else json.dumps(body).encode(),
        {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"},
        timeout_s=30,
    )
    return status, json.loads(reply or b"null")


def username(server: Server) -> str:
    status, user = call(server, "GET", "/user")
    if status != 200:
        raise RuntimeError(f"GET /user answered {status}: {user}")
    name: str = user["username"]
    return name


def check_sandbox(server: Server) -> str:
    """The sandbox /health reports; bubblewrap, or the numbers mean another thing."""
    status, body = get(server.base_url + "/health")
    sandbox: str = json.loads(body).get("sandbox", "?")
    if status != 200 or sandbox != "bwrap":
        raise RuntimeError(
            f"/health answered {status} with sandbox {sandbox!r}, not 'bwrap'. "
            "Install bubblewrap (apt-get install bubblewrap) and run again."
        )
    return sandbox


def source_url(source: str) -> str:
    """A ``.py`` file as the ``data:`` URL ``POST /predictors`` takes."""
    encoded = base64.b64encode(source.encode()).decode()
    return f"data:text/x-python;base64,{encoded}"


def file_url(path: Path) -> str:
    """A ``.py`` file or a notebook (named, so that it reads as one) as a URL."""
    if path.suffix != ".ipynb":
        return source_url(path.read_text())
    encoded = base64.b64encode(path.read_bytes()).decode()
    return f"data:application/x-ipynb+json;name={path.name};base64,{encoded}"


def create_predictor(server: Server, tag: str, notebook: str) -> float:
    """Milliseconds from ``POST /predictors`` to ACTIVE."""
    body = {"tag": tag, "notebook": notebook}
    started = time.perf_counter()
    status, reply = call(server, "POST", "/predictors", body)
    if status != 201:
        raise RuntimeError(f"POST /predictors answered {status}: {reply}")
    while reply["status"] == "PROVISIONING":
        if time.perf_counter() - started > PROVISION_TIMEOUT_S:
            raise RuntimeError(
                f"{tag} still PROVISIONING after {PROVISION_TIMEOUT_S} s"
            )
        time.sleep(PROVISION_POLL_S)
        reply = call(server, "GET", f"/predictors/{tag}")[1]
    elapsed = (time.perf_counter() - started) * 1000
    if reply["status"] != "ACTIVE":
        raise RuntimeError(
            f"{tag} ended {reply['status']}: {reply.get('error')}\n"
            f"provisioning log:\n{reply.get('log')}"
        )
    return elapsed


def predict(
    server: Server, tag: str, inputs: dict[str, Any], expected: str
) -> tuple[float, dict[str, Any]]:
    """Milliseconds for one REST prediction, and the prediction.

    Fails unless its results hold ``expected``.
    """
    started = time.perf_counter()
    status, reply = call(server, "POST", f"/predict/{tag}", inputs)
    elapsed = (time.perf_counter() - started) * 1000
    results = reply.get("results") if isinstance(reply, dict) else None
    if status != 200 or not results or expected not in json.dumps(results):
        raise RuntimeError(f"POST /predict/{tag} answered {status}: {reply}")
    return elapsed, reply
