"""``kill -9`` of a real server in the middle of a prediction: no process of the
predictor's is left behind, and the prediction, once the server is back,
ends INTERRUPTED and unbilled."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.integration.support import create_user, start_server, stop, tail

pytestmark = pytest.mark.timeout(120)

SLEEPER = b"""
import time

def predict(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
"""
TAG = "@peter/sleeper"
WAIT_S = 30.0


def leftovers(data: Path) -> list[int]:
    """Processes, other than servers, whose command line names ``data``'s
    predictors or workers."""
    marks = [f"{data}/workers/".encode(), f"{data}/predictors/".encode()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(mark in command for mark in marks):
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}. Server log:\n{tail(log)}")
        time.sleep(0.05)


def create_sleeper(client: httpx.Client, url: str, key: str, log: Path) -> None:
    source = "data:text/x-python;base64," + base64.b64encode(SLEEPER).decode()
    headers = {"Authorization": f"Bearer {key}"}
    made = client.post(
        f"{url}/predictors",
        json={"tag": TAG, "notebook": source},
        headers=headers,
    )
    assert made.status_code == 201, made.text

    def active() -> bool:
        found = client.get(f"{url}/predictors/{quote(TAG)}", headers=headers)
        return bool(found.json()["status"] == "ACTIVE")

    wait_for(active, "the predictor to be ACTIVE", log)


def test_kill_9_mid_prediction_leaves_no_worker(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    data.mkdir()
    key = create_user(data)
    process, url = start_server(data, log)
    client = httpx.Client(trust_env=False, timeout=60)
    try:
        create_sleeper(client, url, key, log)

        def predict() -> None:
            # the server dies under it, as intended
            with contextlib.suppress(httpx.TransportError):
                client.post(
                    f"{url}/predict/{TAG}",
                    json={"seconds": 60},
                    headers={"Authorization": f"Bearer {key}"},
                )

        caller = threading.Thread(target=predict, daemon=True)
        caller.start()
        wait_for(lambda: bool(leftovers(data)), "a worker to start", log)

        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        wait_for(lambda: not leftovers(data), "the worker to die", log)
        caller.join(WAIT_S)
    finally:
        client.close()
        stop(process)

    restarted, _url = start_server(data, log)
    try:
        with sqlite3.connect(data / "openfxn.db") as database:
            rows = database.execute(
                "SELECT p.status, count(u.id) FROM predictions p "
                "LEFT JOIN usage u ON u.prediction_id = p.id GROUP BY p.id"
            ).fetchall()
    finally:
        stop(restarted)

    assert rows == [("INTERRUPTED", 0)]
