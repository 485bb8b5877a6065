"""Hostile predictors, for real: each scenario is a predictor that attacks the
server from inside its sandbox, run through a prediction. Each test asserts
that the attack failed, and that the server then serves the next prediction.

Every scenario runs in tier A (bubblewrap) and in tier B (Landlock and
seccomp, as where user namespaces are refused), but filling the disk, which
tier B cannot cap beyond one file's size. Outside CI a tier this machine
cannot give is skipped; in CI that is a failure, so the sandbox cannot be lost
silently.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from openfxn.server.settings import SandboxMode, SandboxTier, Settings
from tests.conftest import Account, sqlite_settings
from tests.server.runtime.conftest import Listener
from tests.server.services.test_predictors import create

pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("in_tier")]

MIB = 1024 * 1024
SCRATCH_BYTES = 32 * MIB
MEMORY_BYTES = 512 * MIB
TIMEOUT_S = 3.0
LOG_LIMIT = 64 * 1024
OUTPUT_BYTES = 2 * MIB

GREETING = """
def predict(name: str) -> str:
    return f"Hello, {name}!"
"""
READ_SERVER_FILES = """
def predict(data: str) -> str:
    found = []
    for name in ("openfxn.db", "secret.key", "openfxn.db-wal"):
        try:
            with open(f"{data}/{name}", "rb") as file:
                found.append(f"{name} read {len(file.read())} bytes")
        except OSError as error:
            found.append(f"{name} {type(error).__name__}")
    return "; ".join(found)
"""
READ_SERVER_ENVIRON = """
def predict(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            return "read " + file.read().decode(errors="replace")
    except OSError as error:
        return type(error).__name__
"""
READ_NEIGHBOUR_SECRETS = """
import os

def predict(canary: str) -> str:
    seen, leaks = 0, []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        seen += 1
        for name in ("environ", "cmdline", "mem"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as file:
                    if canary.encode() in file.read(1 << 20):
                        leaks.append(f"{pid}/{name}")
            except OSError:
                pass
    return f"saw {seen} other processes; leaks: {leaks}"
"""
NEIGHBOUR = """
import os

def predict() -> bool:
    return "NEIGHBOUR_SECRET" in os.environ
"""
CONNECT_TO_LOOPBACK = """
import socket

def predict(port: int, path: str) -> str:
    outcomes = []
    attempts = (
        (socket.AF_INET, ("127.0.0.1", port)),
        (socket.AF_UNIX, path),
    )
    for family, address in attempts:
        try:
            with socket.socket(family) as connection:
                connection.settimeout(2)
                connection.connect(address)
            outcomes.append("connected")
        except OSError as error:
            outcomes.append(type(error).__name__)
    return " ".join(outcomes)
"""
FORK_300_CHILDREN = """
import os, time

def predict(children: int) -> int:
    made = []
    for _ in range(children):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(1)
            os._exit(0)
        made.append(pid)
    for pid in made:
        os.waitpid(pid, 0)
    return len(made)
"""
ALLOCATE_10_GIB = """
def predict() -> int:
    return len(bytearray(10 * 1024**3))
"""
TOUCH_1_GIB = """
def predict() -> int:
    chunks = [b"x" * (64 * 1024**2) for _ in range(16)]
    return sum(map(len, chunks))
"""
FILL_THE_DISK = """
import os, tempfile

def predict() -> str:
    written = 0
    chunk = b"x" * (1024 * 1024)
    try:
        for index in range(4096):
            folder = tempfile.gettempdir() if index % 2 else "."
            with open(os.path.join(folder, f"fill-{index}"), "wb") as file:
                for _ in range(8):
                    file.write(chunk)
                    written += len(chunk)
    except OSError as error:
        return f"{type(error).__name__} {error.errno} after {written}"
    return f"wrote {written}"
"""
SPIN_FOREVER = """
def predict() -> int:
    while True:
        pass
"""
SLEEP_FOREVER = """
import time

def predict() -> int:
    time.sleep(10**6)
    return 0
"""
EXIT_3 = """
import os

def predict() -> int:
    os._exit(3)
"""
SEGFAULT = """
import ctypes

def predict() -> int:
    return len(ctypes.string_at(0))
"""
PRINT_1_GIB = """
def predict() -> str:
    line = "x" * (1024 * 1024 - 1)
    for _ in range(1024):
        print(line)
    return "printed"
"""
HUGE_RESULT = """
def predict() -> str:
    return "x" * (4 * 1024 * 1024)
"""
DAEMON_THAT_OUTLIVES = """
import os, sys, time

def predict(token: str) -> int:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            code = "import time; time.sleep(300)"
            os.execv(sys.executable, [sys.executable, "-c", code, token])
        os._exit(0)
    os.wait()
    time.sleep(10**6)
    return 0
"""


MODES = {SandboxTier.A: SandboxMode.AUTO, SandboxTier.B: SandboxMode.SHIM}


@pytest.fixture(params=list(MODES), ids=lambda tier: f"tier-{tier}")
def tier(request: pytest.FixtureRequest) -> SandboxTier:
    chosen: SandboxTier = request.param
    return chosen


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path, tier: SandboxTier) -> Settings:
    return sqlite_settings(
        tmp_path,
        sqlite_template,
        sandbox=MODES[tier],
        prediction_timeout_s=TIMEOUT_S,
        sandbox_scratch_bytes=SCRATCH_BYTES,
        predictor_memory_bytes=MEMORY_BYTES,
        prediction_output_bytes=OUTPUT_BYTES,
    )


@pytest.fixture
def in_tier(app: FastAPI, tier: SandboxTier) -> None:
    if app.state.sandbox.tier != tier:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run predictors in tier {tier}, and cannot")
        pytest.skip(f"this machine cannot give sandbox tier {tier}")


async def attack(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    source: str,
    **inputs: Any,
) -> dict[str, Any]:
    """Create the hostile predictor, run it once, and check that the server
    still serves: the same predictor's next worker, and another predictor."""
    name = f"hostile-{uuid.uuid4().hex[:8]}"
    tag = (await create(app, client, account, source, tag=f"@ada/{name}"))["tag"]
    assert (await retrieve_status(client, account, tag)) == "ACTIVE"
    prediction = await predict(client, account, tag, **inputs)

    greeting = await create(app, client, account, GREETING, tag=f"@ada/{name}-next")
    after = await predict(client, account, greeting["tag"], name="Ada")
    assert after["error"] is None, after["error"]
    assert text_of(after) == "Hello, Ada!"
    return prediction


async def retrieve_status(client: httpx.AsyncClient, account: Account, tag: str) -> str:
    response = await client.get(f"/predictors/{tag}", headers=account.headers)
    status: str = response.json()["status"]
    return status


async def predict(
    client: httpx.AsyncClient, account: Account, tag: str, **inputs: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/predict/{tag}", json=inputs, headers=account.headers, timeout=60
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def text_of(prediction: dict[str, Any]) -> str:
    assert prediction["error"] is None, prediction["error"]
    data = prediction["results"][0]["data"]
    return base64.b64decode(data.partition(",")[2]).decode()


def number_of(prediction: dict[str, Any]) -> int:
    assert prediction["error"] is None, prediction["error"]
    value: int = prediction["results"][0]["intValue"]
    return value


async def test_read_server_database_and_key(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, settings: Settings
) -> None:
    outcome = text_of(
        await attack(app, client, ada, READ_SERVER_FILES, data=str(settings.data))
    )

    assert "read" not in outcome, outcome
    assert outcome.count("FileNotFoundError") + outcome.count("PermissionError") == 3


async def test_read_server_environ(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    outcome = text_of(
        await attack(app, client, ada, READ_SERVER_ENVIRON, pid=os.getpid())
    )

    assert outcome in ("FileNotFoundError", "PermissionError"), outcome


async def test_read_neighbours_secrets(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    neighbour = await create(
        app,
        client,
        ada,
        NEIGHBOUR,
        tag="@ada/neighbour",
        environment=[{"name": "NEIGHBOUR_SECRET", "value": canary}],
    )
    warm = await predict(client, ada, neighbour["tag"])  # its worker stays up
    assert warm["results"][0]["boolValue"] is True

    prediction = await attack(app, client, ada, READ_NEIGHBOUR_SECRETS, canary=canary)

    if prediction["error"] is not None:  # tier B: /proc cannot even be listed
        error = prediction["error"]
        assert "PermissionError: [Errno 13] Permission denied: '/proc'" in error
    else:
        assert text_of(prediction).endswith("leaks: []"), text_of(prediction)


async def test_connect_to_loopback_and_unix_socket(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, listener: Listener
) -> None:
    outcome = text_of(
        await attack(
            app,
            client,
            ada,
            CONNECT_TO_LOOPBACK,
            port=listener.port,
            path=str(listener.unix_path),
        )
    )

    assert "connected" not in outcome, outcome
    assert listener.connections == 0


async def test_fork_300_children(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    made = number_of(await attack(app, client, ada, FORK_300_CHILDREN, children=300))

    assert made < app.state.sandbox.limits.processes, made


async def test_allocate_10_gib(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    prediction = await attack(app, client, ada, ALLOCATE_10_GIB)

    assert prediction["results"] is None
    assert "MemoryError" in prediction["error"]


async def test_touch_1_gib(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    prediction = await attack(app, client, ada, TOUCH_1_GIB)

    assert prediction["results"] is None
    error = prediction["error"]
    assert "ran out of memory" in error or "MemoryError" in error, error


async def test_fill_the_disk(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, tier: SandboxTier
) -> None:
    if tier == SandboxTier.B:
        pytest.skip("tier B caps one file's size, not the disk")
    outcome = text_of(await attack(app, client, ada, FILL_THE_DISK))

    error, errno, _after, written = outcome.split()
    assert (error, int(errno)) == ("OSError", 28), outcome  # ENOSPC
    assert int(written) <= 2 * SCRATCH_BYTES  # the working directory and /tmp


@pytest.mark.parametrize("source", [SPIN_FOREVER, SLEEP_FOREVER], ids=["spin", "sleep"])
async def test_run_forever(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, source: str
) -> None:
    started = time.monotonic()
    prediction = await attack(app, client, ada, source)

    assert f"took longer than {TIMEOUT_S:.0f} s" in prediction["error"]
    assert time.monotonic() - started < TIMEOUT_S + 10


async def test_exit_3(app: FastAPI, client: httpx.AsyncClient, ada: Account) -> None:
    prediction = await attack(app, client, ada, EXIT_3)

    assert "exited with status 3" in prediction["error"]


async def test_segfault_through_ctypes(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    prediction = await attack(app, client, ada, SEGFAULT)

    assert "killed by SIGSEGV" in prediction["error"]


async def test_print_1_gib(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    prediction = await attack(app, client, ada, PRINT_1_GIB)

    assert text_of(prediction) == "printed"
    assert 0 < len(prediction["logs"]) <= LOG_LIMIT


async def test_return_4_mib(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    prediction = await attack(app, client, ada, HUGE_RESULT)

    assert (
        "more data during the prediction than the server accepts"
        in (prediction["error"])
    )


async def test_setsid_daemon_does_not_outlive_its_prediction(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    token = f"daemon-{uuid.uuid4().hex}"

    prediction = await attack(app, client, ada, DAEMON_THAT_OUTLIVES, token=token)
    await asyncio.sleep(0.5)

    assert "took longer than" in prediction["error"]
    assert survivors(token) == []


def survivors(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and token.encode() in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
