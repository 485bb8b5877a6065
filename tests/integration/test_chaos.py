"""``kill -9`` chaos: a real server, killed at random moments under a stream of
predictions and restarted on the same data each time, keeps its ledger.

Once the server has come back for the last time, the database holds no
prediction still RUNNING, no prediction billed twice, no usage for one that did
not finish, and every prediction a client got a 200 for, SUCCEEDED under the
same id; no predictor process outlives a killed server. The kill schedule
comes from a seeded generator (``OPENFXN_TEST_CHAOS_SEED`` picks another);
timing still varies from run to run, so the test prints what it saw in one line.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from tests.conftest import POSTGRES_URL, postgres_execute
from tests.integration.support import create_user, start_server, stop, tail

pytestmark = pytest.mark.timeout(180)

SEED = int(os.environ.get("OPENFXN_TEST_CHAOS_SEED", "20231204"))
KILLS = (6, 10)  # how many, at least and at most
KILL_AFTER_S = (0.05, 0.5)  # how long the server runs before each kill
CLIENTS = 4
MIN_ACCEPTED = 15

GREETING = b"""
import time

def predict(name: str) -> str:
    time.sleep(0.02)  # long enough for some kills to land inside a prediction
    return f"Hello, {name}!"
"""
TAG = "@peter/greeting"
WAIT_S = 30.0
RETRY_S = 0.05  # between a client's tries while the server is down
LEFTOVER_WAIT_S = 5.0
ENDED = {"SUCCEEDED", "FAILED", "INTERRUPTED"}
BILLABLE = {"SUCCEEDED", "FAILED"}


@dataclass(frozen=True)
class Ledger:
    """What the checks read from the database once the server has stopped."""

    statuses: dict[str, str]  # prediction id: status
    errors: dict[str, str | None]  # prediction id: error
    billed: list[str]  # the prediction id of each usage row
    counted: int  # the predictor's own count of billed predictions
    integrity: str  # what PRAGMA integrity_check says; "ok" off SQLite


@dataclass(frozen=True)
class Backend:
    """Where the server keeps its data: settings for it, and a reader."""

    variables: dict[str, str]
    read: Callable[[Path], Ledger]


def read_sqlite(data: Path) -> Ledger:
    database = sqlite3.connect(data / "openfxn.db")
    try:
        rows = database.execute("SELECT id, status, error FROM predictions").fetchall()
        billed = database.execute("SELECT prediction_id FROM usage").fetchall()
        counted = database.execute("SELECT sum(predictions) FROM predictors").fetchone()
        integrity = database.execute("PRAGMA integrity_check").fetchall()
    finally:
        database.close()
    return Ledger(
        statuses={id: status for id, status, _ in rows},
        errors={id: error for id, _, error in rows},
        billed=[id for (id,) in billed],
        counted=int(counted[0] or 0),
        integrity="; ".join(str(row[0]) for row in integrity),
    )


async def read_postgres(url: str) -> Ledger:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        rows = await connection.fetch("SELECT id, status, error FROM predictions")
        billed = await connection.fetch("SELECT prediction_id FROM usage")
        counted = await connection.fetchval("SELECT sum(predictions) FROM predictors")
    finally:
        await connection.close()
    return Ledger(
        statuses={row["id"]: row["status"] for row in rows},
        errors={row["id"]: row["error"] for row in rows},
        billed=[row["prediction_id"] for row in billed],
        counted=int(counted or 0),
        integrity="ok",
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """SQLite in the data directory, or a fresh PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield Backend({}, read_sqlite)
        return
    name = f"openfxn_chaos_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(postgres_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {error}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield Backend(
            {"OPENFXN_DATABASE_URL": url}, lambda _data: asyncio.run(read_postgres(url))
        )
    finally:
        drop = f'DROP DATABASE "{name}" WITH (FORCE)'
        asyncio.run(postgres_execute(POSTGRES_URL, drop))


@dataclass
class Traffic:
    """Clients that predict without pause, following the server to each new
    port, and what they were answered."""

    url: str
    key: str = field(repr=False)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refused: int = 0  # no connection: the server was down
    cut: int = 0  # connected, then the connection dropped
    accepted: dict[str, str] = field(default_factory=dict)  # id: name asked
    unexpected: list[str] = field(default_factory=list)

    def drive(self, number: int) -> None:
        with httpx.Client(trust_env=False, timeout=WAIT_S) as client:
            for count in itertools.count():
                if self.stopping.is_set():
                    return
                self.predict(client, f"client{number}-{count}")

    def predict(self, client: httpx.Client, name: str) -> None:
        try:
            reply = client.post(
                f"{self.url}/predict/{TAG}",
                json={"name": name},
                headers={"Authorization": f"Bearer {self.key}"},
            )
        except httpx.ConnectError:
            with self.lock:
                self.refused += 1
            time.sleep(RETRY_S)
            return
        except httpx.TransportError:
            with self.lock:
                self.cut += 1
            return
        with self.lock:
            if reply.status_code == 200 and greets(reply, name):
                self.accepted[reply.json()["id"]] = name
            else:
                self.unexpected.append(f"{name}: {reply.status_code} {reply.text}")


def greets(reply: httpx.Response, name: str) -> bool:
    """Whether ``reply`` is a SUCCEEDED prediction that greets ``name``."""
    try:
        body = reply.json()
        result = body["results"][0]["stringValue"]
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return bool(body["status"] == "SUCCEEDED" and result == f"Hello, {name}!")


def leftovers(data: Path) -> list[str]:
    """The command lines of live processes that name ``data``."""
    mark = str(data).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if mark in command:
            found.append(command.replace(b"\0", b" ").decode(errors="replace"))
    return found


@dataclass
class Server:
    """One ``openfxn serve`` at a time on the same data, restarted after each kill."""

    data: Path
    log: Path
    variables: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> str:
        self.process, self.url = start_server(self.data, self.log, self.variables)
        return self.url

    def kill(self) -> None:
        """SIGKILL it, then wait for every process of its to go."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + LEFTOVER_WAIT_S
        while (left := leftovers(self.data)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"processes outlived the killed server: {left}"

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def create_greeting(url: str, key: str, log: Path) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    source = "data:text/x-python;base64," + base64.b64encode(GREETING).decode()
    with httpx.Client(trust_env=False, timeout=WAIT_S) as client:
        made = client.post(
            f"{url}/predictors", json={"tag": TAG, "notebook": source}, headers=headers
        )
        assert made.status_code == 201, made.text
        deadline = time.monotonic() + WAIT_S
        while True:
            found = client.get(f"{url}/predictors/{quote(TAG)}", headers=headers)
            if found.json()["status"] == "ACTIVE":
                return
            if time.monotonic() > deadline:
                pytest.fail(f"{TAG} is {found.json()['status']}:\n{tail(log)}")
            time.sleep(0.1)


def wait_for_answer(traffic: Traffic, since: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while len(traffic.accepted) <= since and time.monotonic() < deadline:
        time.sleep(0.01)


def storm(server: Server, traffic: Traffic, rng: random.Random) -> int:
    """Predict from CLIENTS threads while killing and restarting ``server``;
    return how many kills there were. Every other kill waits for the restarted
    server to answer once first, so that kills land both in cold starts and
    amid warm predictions."""
    clients = [
        threading.Thread(target=traffic.drive, args=(number,), daemon=True)
        for number in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    kills = rng.randint(*KILLS)
    for number in range(kills):
        if number % 2:
            wait_for_answer(traffic, len(traffic.accepted))
        time.sleep(rng.uniform(*KILL_AFTER_S))
        if number == kills - 1:
            traffic.stopping.set()
        server.kill()
        if number < kills - 1:
            traffic.url = server.start()
    for client in clients:
        client.join(WAIT_S)
    return kills


def check(ledger: Ledger, traffic: Traffic, log: Path) -> None:
    statuses = Counter(ledger.statuses.values())
    times_billed = Counter(ledger.billed)
    unfinished = [id for id in ledger.billed if ledger.statuses.get(id) not in BILLABLE]
    lost = {
        id: ledger.statuses.get(id)
        for id in traffic.accepted
        if ledger.statuses.get(id) != "SUCCEEDED"
    }
    interrupted = [
        id for id, status in ledger.statuses.items() if status == "INTERRUPTED"
    ]

    assert not traffic.unexpected, traffic.unexpected[:5]
    assert set(statuses) <= ENDED, f"{dict(statuses)}\n{tail(log)}"
    assert [id for id, times in times_billed.items() if times > 1] == []
    assert unfinished == []
    assert len(ledger.billed) == statuses["SUCCEEDED"] + statuses["FAILED"]
    assert ledger.counted == len(ledger.billed)
    assert lost == {}
    assert all("not billed" in (ledger.errors[id] or "") for id in interrupted)
    assert ledger.integrity == "ok"


def test_kill_9_at_random_keeps_the_ledger(tmp_path: Path, backend: Backend) -> None:
    data = tmp_path / f"data-{uuid.uuid4().hex}"  # a mark no other process holds
    data.mkdir()
    server = Server(data, tmp_path / "server.log", backend.variables)
    key = create_user(data, backend.variables)
    traffic = Traffic(server.start(), key)
    try:
        create_greeting(server.url, key, server.log)
        kills = storm(server, traffic, random.Random(SEED))
        server.start()  # it ends what the last kill left RUNNING
    finally:
        traffic.stopping.set()
        server.stop()
    ledger = backend.read(data)

    statuses = Counter(ledger.statuses.values())
    print(
        f"chaos seed {SEED}: {kills} kills; {len(traffic.accepted)} predictions "
        f"answered 200, {traffic.cut} connections cut, {traffic.refused} refused; "
        f"stored {dict(statuses)}, {len(ledger.billed)} usage rows"
    )
    check(ledger, traffic, server.log)
    # it was exercised: predictions went through, and kills landed amid some
    assert len(traffic.accepted) >= MIN_ACCEPTED
    assert statuses["INTERRUPTED"] >= 1
