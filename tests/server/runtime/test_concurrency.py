"""Workers that run several predictions at once (OPENFXN_WORKER_CONCURRENCY),
and workers replaced after OPENFXN_WORKER_MAX_PREDICTIONS, for real: predictor
processes in the sandbox, driven through REST."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from openfxn.server.settings import Settings
from tests.conftest import Account, sqlite_settings
from tests.server.runtime.test_hostile_predictors import predict, text_of
from tests.server.services.test_predictors import create

pytestmark = pytest.mark.timeout(120)

CONCURRENCY = 4
MAX_PREDICTIONS = 3

# Passes only when CONCURRENCY predictions are inside predict at once: one at
# a time, the first would wait at the barrier until it broke.
TOGETHER = f"""
import threading

barrier = threading.Barrier({CONCURRENCY}, timeout=20)

def predict(name: str) -> str:
    print("printed by", name)
    barrier.wait()
    print("done for", name)
    return name
"""
EXIT_WHEN_ASKED = """
import os, threading

arrived = threading.Barrier(2, timeout=20)

def predict(name: str) -> str:
    if name == "alone":
        return name
    arrived.wait()
    if name == "exit":
        os._exit(3)
    threading.Event().wait(30)
    return name
"""
GREETING = """
def predict(name: str) -> str:
    return f"Hello, {name}!"
"""
# Every stream yields twice while all of them are running, so their partial
# results interleave on one worker's pipe.
INTERLEAVED = f"""
import threading

barrier = threading.Barrier({CONCURRENCY}, timeout=20)

def predict(name: str):
    for step in range(2):
        barrier.wait()
        yield f"{{name}} {{step}}"
"""


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    return sqlite_settings(
        tmp_path,
        sqlite_template,
        workers_per_predictor=1,
        worker_concurrency=CONCURRENCY,
        worker_max_predictions=MAX_PREDICTIONS,
        prediction_timeout_s=30,
    )


async def publish(
    app: FastAPI, client: httpx.AsyncClient, account: Account, source: str
) -> str:
    name = f"threads-{uuid.uuid4().hex[:8]}"
    predictor = await create(app, client, account, source, tag=f"@ada/{name}")
    assert predictor["status"] == "ACTIVE", predictor.get("error")
    tag: str = predictor["tag"]
    return tag


def workers_started(app: FastAPI) -> int:
    """How many workers the one pool of the test's predictor started."""
    (pool,) = app.state.services.predictions.runtime.pools.values()
    started: int = pool.started
    return started


async def predict_all(
    client: httpx.AsyncClient, account: Account, tag: str, names: list[str]
) -> list[dict[str, Any]]:
    return list(
        await asyncio.gather(*(predict(client, account, tag, name=n) for n in names))
    )


async def test_one_worker_runs_predictions_together_each_with_its_logs(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = await publish(app, client, ada, TOGETHER)
    names = [f"caller-{index}" for index in range(CONCURRENCY)]

    predictions = await predict_all(client, ada, tag, names)

    for name, prediction in zip(names, predictions, strict=True):
        assert prediction["error"] is None, prediction["error"]
        assert text_of(prediction) == name
        assert prediction["logs"] == f"printed by {name}\ndone for {name}\n"
    # One worker (the barrier is in one process): one of them waited for it.
    cold_starts = [p.get("coldStart") for p in predictions]
    assert sum(cold_start is not None for cold_start in cold_starts) == 1


async def test_a_worker_that_exits_ends_the_predictions_beside_it(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = await publish(app, client, ada, EXIT_WHEN_ASKED)

    ended = await predict_all(client, ada, tag, ["exit", "bystander"])

    for prediction in ended:
        assert "exited with status 3 during the prediction" in prediction["error"]
    after = await predict(client, ada, tag, name="alone")  # on a new worker
    assert text_of(after) == "alone"
    assert workers_started(app) == 2


async def test_a_worn_worker_is_replaced_before_anyone_waits_for_it(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = await publish(app, client, ada, GREETING)

    cold_starts = []
    for index in range(3 * MAX_PREDICTIONS + 1):
        prediction = await predict(client, ada, tag, name=str(index))
        assert text_of(prediction) == f"Hello, {index}!"
        cold_starts.append(prediction.get("coldStart"))

    # Only the first waited for a worker to start; the successors of the worn
    # ones started in the background.
    assert cold_starts[0] is not None
    assert cold_starts[1:] == [None] * (3 * MAX_PREDICTIONS)
    assert workers_started(app) == 4


async def test_streams_on_one_worker_each_get_their_own_partials(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = await publish(app, client, ada, INTERLEAVED)
    headers = {**ada.headers, "Accept": "application/x-ndjson"}

    async def stream(name: str) -> list[dict[str, Any]]:
        response = await client.post(
            f"/predict/{tag}?stream=true", json={"name": name}, headers=headers
        )
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.content.splitlines() if line]

    names = [f"stream-{index}" for index in range(CONCURRENCY)]
    streams = await asyncio.gather(*(stream(name) for name in names))

    for name, predictions in zip(names, streams, strict=True):
        texts = [text_of(prediction) for prediction in predictions]
        assert texts == [f"{name} 0", f"{name} 1", f"{name} 1"]  # partials, final
        assert len({prediction["id"] for prediction in predictions}) == 1
