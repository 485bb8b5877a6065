"""Predictions end to end in process: real provisioning, real sandboxed workers,
the ledger checked in the database."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from openfxn.server.services import predictions
from openfxn.server.store.tables import Prediction, Usage
from openfxn.server.store.tables import Predictor as PredictorRow
from tests.conftest import Account, MakeAccount
from tests.server.services.test_predictors import create

GREETING = """
def predict(name: str) -> str:
    print("greeting", name)
    return f"Hello, {name}!"
"""
FAILING = """
def predict(x: int) -> int:
    return helper(x)

def helper(x):
    raise ValueError(f"no good: {x}")
"""
SEVERAL = """
def predict(a: int, b: float) -> tuple[int, float, str, list, dict, bool]:
    return a + 1, b * 2, "three", [1, 2], {"k": "v"}, True
"""
STREAMING = """
def predict(sentence: str):
    for word in sentence.split():
        yield word
"""
EXITING = """
import os

def predict(code: int) -> int:
    if code:
        os._exit(code)
    return code
"""


def decoded(value: dict[str, Any]) -> bytes:
    header, _, payload = value["data"].partition(",")
    assert header.endswith(";base64"), header
    return base64.b64decode(payload)


async def predict(
    client: httpx.AsyncClient, account: Account, tag: str, **inputs: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/predict/{tag}", json=inputs, headers=account.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def back_to_back(text: str) -> list[Any]:
    decoder, objects, index = json.JSONDecoder(), [], 0
    while index < len(text):
        found, index = decoder.raw_decode(text, index)
        objects.append(found)
    return objects


async def count_running(app: FastAPI) -> int:
    async with app.state.database.read() as session:
        count = await session.scalar(
            select(func.count()).where(Prediction.status == "RUNNING")
        )
    return int(count or 0)


async def billed(app: FastAPI, prediction_id: str) -> int:
    async with app.state.database.read() as session:
        count = await session.scalar(
            select(func.count()).where(Usage.prediction_id == prediction_id)
        )
    return int(count or 0)


async def test_greeting_runs_warm_and_is_billed_once(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    predictor = await create(app, client, ada, GREETING)
    tag = predictor["tag"]

    first = await predict(client, ada, tag, name="Peter")
    second = await predict(client, ada, tag, name="Ada")

    assert first["error"] is None, first["error"]
    assert decoded(first["results"][0]) == b"Hello, Peter!"
    assert first["results"][0]["type"] == "string"
    assert first["results"][0]["stringValue"] == "Hello, Peter!"
    assert first["logs"].strip() == "greeting Peter"
    assert first["status"] == "SUCCEEDED"
    assert first["latency"] > 0
    assert first["coldStart"] > 0  # this one started the worker
    assert second["coldStart"] is None  # this one found it warm
    assert decoded(second["results"][0]) == b"Hello, Ada!"
    assert await billed(app, first["id"]) == 1
    assert await billed(app, second["id"]) == 1
    async with app.state.database.read() as session:
        row = await session.scalar(select(PredictorRow).where(PredictorRow.tag == tag))
    assert row is not None and row.predictions == 2


async def test_value_objects_and_plain_values_are_both_inputs(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, GREETING))["tag"]
    name = {
        "data": "data:application/octet-stream;base64,UGV0ZXI=",
        "type": "string",
        "shape": None,
    }

    prediction = await predict(client, ada, tag, name=name)

    assert decoded(prediction["results"][0]) == b"Hello, Peter!"


async def test_raising_predictor_returns_its_traceback(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, FAILING))["tag"]

    prediction = await predict(client, ada, tag, x=7)
    again = await predict(client, ada, tag, x=8)

    assert prediction["results"] is None
    assert prediction["status"] == "FAILED"
    assert "ValueError: no good: 7" in prediction["error"]
    assert "in helper" in prediction["error"]
    assert "worker.py" not in prediction["error"]
    assert "no good: 8" in again["error"]
    assert await billed(app, prediction["id"]) == 1  # billed for its run time


async def test_tuple_gives_several_typed_results(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, SEVERAL))["tag"]

    prediction = await predict(client, ada, tag, a=41, b=1.25)

    results = prediction["results"]
    assert prediction["error"] is None, prediction["error"]
    assert [result["type"] for result in results] == [
        "int64", "float64", "string", "list", "dict", "bool",
    ]  # fmt: skip
    assert results[0]["intValue"] == 42
    assert results[1]["floatValue"] == 2.5
    assert results[3]["listValue"] == [1, 2]
    assert results[4]["dictValue"] == {"k": "v"}
    assert results[5]["boolValue"] is True


async def test_dead_worker_is_reported_and_replaced(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, EXITING))["tag"]

    died = await predict(client, ada, tag, code=3)
    after = await predict(client, ada, tag, code=0)

    assert "exited with status 3" in died["error"]
    assert after["error"] is None, after["error"]
    assert after["coldStart"] is not None  # a new worker


@pytest.mark.parametrize(
    ("accept", "split"),
    [
        (None, None),
        ("application/x-ndjson", b"\n"),
        ("text/event-stream", b"\n\n"),
    ],
)
async def test_generator_streams_partial_predictions(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    accept: str | None,
    split: bytes | None,
) -> None:
    tag = (await create(app, client, ada, STREAMING))["tag"]
    headers = {**ada.headers, **({"Accept": accept} if accept else {})}

    chunks = []
    async with client.stream(
        "POST",
        f"/predict/{tag}?stream=true",
        json={"sentence": "hello big world"},
        headers=headers,
    ) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
    whole = await predict(client, ada, tag, sentence="hello big world")

    if split is None:  # objects back to back (in process, the writes arrive as one)
        objects = back_to_back(b"".join(chunks).decode())
    else:
        parts = b"".join(chunks).split(split)
        objects = [json.loads(part.removeprefix(b"data: ")) for part in parts if part]
    words = [decoded(item["results"][0]) for item in objects]
    assert words == [b"hello", b"big", b"world", b"world"]
    assert len({item["id"] for item in objects}) == 1
    assert decoded(whole["results"][0]) == b"world"


async def test_official_stream_framing_sends_only_2023_fields(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    # fxn 0.0.23 builds CloudPrediction(**object) and Value(**result).
    tag = (await create(app, client, ada, STREAMING))["tag"]

    async with client.stream(
        "POST",
        f"/predict/{tag}?stream=true&rawOutputs=true&dataUrlLimit=None",
        json={"sentence": "hello world"},
        headers=ada.headers,
    ) as response:
        objects = back_to_back((await response.aread()).decode())

    assert [list(item) for item in objects] == [
        ["id", "tag", "type", "created", "results", "latency", "error", "logs"]
    ] * 3
    assert [list(item["results"][0]) for item in objects] == [
        ["data", "type", "shape"]
    ] * 3
    assert [decoded(item["results"][0]) for item in objects] == [
        b"hello", b"world", b"world",
    ]  # fmt: skip


async def test_prediction_is_retrieved_by_its_caller_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    make_account: MakeAccount,
) -> None:
    tag = (await create(app, client, ada, GREETING, access="PUBLIC"))["tag"]
    bob = await make_account("bob")
    made = await predict(client, ada, tag, name="Peter")

    mine = await client.get(f"/predictions/{made['id']}", headers=ada.headers)
    theirs = await client.get(f"/predictions/{made['id']}", headers=bob.headers)

    assert mine.status_code == 200
    assert mine.json()["results"] == made["results"]
    assert theirs.status_code == 404


async def test_graphql_create_prediction_matches_rest(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, GREETING))["tag"]
    query = """mutation ($input: CreatePredictionInput!) {
      createPrediction(input: $input) {
        id tag type results { data type shape stringValue } latency error logs
      }
    }"""
    name = {"name": "name", "data": "data:,Peter", "type": "string"}
    variables = {"input": {"tag": tag, "client": "linux", "inputs": [name]}}

    response = await client.post(
        "/graph", json={"query": query, "variables": variables}, headers=ada.headers
    )

    prediction = response.json()["data"]["createPrediction"]
    assert prediction["results"][0]["stringValue"] == "Hello, Peter!"
    assert prediction["error"] is None


async def test_predictions_left_running_are_interrupted_unbilled(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, GREETING))["tag"]
    made = await predict(client, ada, tag, name="Peter")
    async with app.state.database.write() as session:
        owner = await session.scalar(
            select(PredictorRow.owner_id).where(PredictorRow.tag == tag)
        )
        session.add(
            Prediction(
                id="left-running",
                tag=tag,
                caller_id=owner,
                billed_account_id=owner,
                inputs={},
            )
        )

    ended = await app.state.services.predictions.interrupt_unfinished()
    interrupted = await client.get("/predictions/left-running", headers=ada.headers)

    assert ended == 1
    assert interrupted.json()["status"] == "INTERRUPTED"
    assert "not billed" in interrupted.json()["error"]
    assert await billed(app, "left-running") == 0
    assert await billed(app, made["id"]) == 1


async def test_inactive_and_unknown_predictors_are_refused(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, "x = 1\n"))["tag"]  # INVALID: no predict

    invalid = await client.post(f"/predict/{tag}", json={}, headers=ada.headers)
    unknown = await client.post("/predict/@ada/nothing", json={}, headers=ada.headers)

    assert invalid.status_code == 400
    assert "INVALID" in invalid.json()["error"]
    assert unknown.status_code == 404


async def test_reply_is_the_stored_prediction(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, SEVERAL))["tag"]

    reply = await predict(client, ada, tag, a=1, b=0.1)
    stored = await client.get(f"/predictions/{reply['id']}", headers=ada.headers)

    assert reply["results"][1]["floatValue"] == 0.2
    assert stored.json() == reply


async def test_prediction_ended_elsewhere_answers_as_stored(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    sleeping = "import time\n\ndef predict() -> int:\n    time.sleep(1)\n    return 1\n"
    tag = (await create(app, client, ada, sleeping))["tag"]
    service = app.state.services.predictions

    reply = asyncio.create_task(client.post(f"/predict/{tag}", headers=ada.headers))
    for _ in range(500):  # until it is stored RUNNING
        if await count_running(app):
            break
        await asyncio.sleep(0.01)
    await service.interrupt_unfinished()  # as a restart would, while it runs
    ended = (await reply).json()

    assert ended["status"] == "INTERRUPTED"
    assert ended["results"] is None
    assert await billed(app, ended["id"]) == 0


async def test_predictions_follow_replace_archive_and_delete_at_once(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    farewell = GREETING.replace("Hello", "Goodbye")

    async def greeting() -> httpx.Response:
        body = {"name": "Ada"}
        return await client.post(f"/predict/{tag}", json=body, headers=ada.headers)

    tag = (await create(app, client, ada, GREETING))["tag"]
    hello = (await greeting()).json()
    await create(app, client, ada, farewell, overwrite=True)
    goodbye = (await greeting()).json()
    await client.post(f"/predictors/{tag}/archive", headers=ada.headers)
    archived = await greeting()
    await create(app, client, ada, GREETING, overwrite=True)
    again = (await greeting()).json()
    await client.delete(f"/predictors/{tag}", headers=ada.headers)
    deleted = await greeting()

    assert hello["results"][0]["stringValue"] == "Hello, Ada!"
    assert goodbye["results"][0]["stringValue"] == "Goodbye, Ada!"
    assert archived.status_code == 400
    assert "ARCHIVED" in archived.json()["error"]
    assert again["results"][0]["stringValue"] == "Hello, Ada!"
    assert deleted.status_code == 404


async def test_server_failure_ends_the_prediction_unbilled(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = (await create(app, client, ada, GREETING))["tag"]

    def broken(*_args: object) -> None:
        raise RuntimeError("environment vanished")

    monkeypatch.setattr(app.state.services.predictions, "worker_spec", broken)
    response = await client.post(
        f"/predict/{tag}", json={"name": "Ada"}, headers=ada.headers
    )

    assert response.status_code == 500
    assert "environment vanished" not in response.text
    async with app.state.database.read() as session:
        row = await session.scalar(select(Prediction).where(Prediction.tag == tag))
    assert row is not None and row.status == "FAILED"
    assert row.error is not None and "not billed" in row.error
    assert await billed(app, row.id) == 0


async def test_a_quick_prediction_is_written_once_and_a_slow_one_twice(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    napping = "import time\n\ndef predict(s: float) -> float:\n"
    napping += "    time.sleep(s)\n    return s\n"
    tag = (await create(app, client, ada, napping))["tag"]
    await predict(client, ada, tag, s=0)  # starts the worker
    ledger = app.state.database.ledger
    writes: list[str] = []

    def submit(write: Any) -> Any:
        writes.append(write.func.__name__)
        return type(ledger).submit(ledger, write)

    monkeypatch.setattr(ledger, "submit", submit)
    quick = await predict(client, ada, tag, s=0)
    quick_writes, writes[:] = list(writes), []
    slow = await predict(client, ada, tag, s=0.2)

    assert quick_writes == ["store_ended"]
    assert writes == ["store_running", "end_and_bill"]
    for made in (quick, slow):
        stored = await client.get(f"/predictions/{made['id']}", headers=ada.headers)
        assert stored.json() == made
        assert await billed(app, made["id"]) == 1


async def test_a_streamed_prediction_is_stored_before_its_first_result_is_sent(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pausing = "def predict():\n    yield 1\n    yield 2\n"
    tag = (await create(app, client, ada, pausing))["tag"]
    monkeypatch.setattr(predictions, "STORE_RUNNING_AFTER_S", 3600.0)

    caller = await app.state.callers.resolve(ada.headers["Authorization"])
    seen: list[str] = []

    async def on_partial(partial: Any) -> None:  # as the first result is sent
        row = await client.get(f"/predictions/{partial.id}", headers=ada.headers)
        seen.append(row.json()["status"])

    service = app.state.services.predictions
    ended = await service.create(caller, tag, {}, None, "http://test", on_partial)

    assert seen == ["RUNNING", "RUNNING"]
    assert ended.status == "SUCCEEDED"
    assert await billed(app, ended.id) == 1


def test_prediction_ids_are_unique_hex_in_time_order() -> None:
    ids = predictions.PredictionIds()

    made = [ids() for _ in range(1000)]  # more than one read of randomness

    assert len(set(made)) == len(made)
    assert all(len(id) == 32 and int(id, 16) >= 0 for id in made)
    assert [id[:12] for id in made] == sorted(id[:12] for id in made)
    assert abs(int(made[0][:12], 16) / 1000 - time.time()) < 60


async def test_the_ledger_writer_waits_for_the_loop_rather_than_preempt_it(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada, GREETING))["tag"]
    await predict(client, ada, tag, name="Ada")
    thread = app.state.database.ledger.thread

    if thread is None:  # PostgreSQL: the writes go through the pool
        assert app.state.database.ledger.sync_engine is None
        return
    assert os.sched_getscheduler(thread.native_id) == os.SCHED_BATCH
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the loop's is untouched


async def test_predictions_arriving_together_read_their_predictor_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = (await create(app, client, ada, GREETING))["tag"]
    await predict(client, ada, tag, name="Ada")  # starts the worker
    predictors = app.state.services.predictors
    predictors.active.clear()  # as when its entry expires
    app.state.callers.cache.entries.clear()
    reads: list[object] = []
    find, fetch = predictors.find, app.state.callers.fetch

    async def counted_find(*args: Any) -> Any:
        reads.append(args)
        return await find(*args)

    async def counted_fetch(*args: Any) -> Any:
        reads.append(args)
        return await fetch(*args)

    monkeypatch.setattr(predictors, "find", counted_find)
    monkeypatch.setattr(app.state.callers, "fetch", counted_fetch)
    made = await asyncio.gather(
        *(predict(client, ada, tag, name=str(index)) for index in range(8))
    )

    assert [item["results"][0]["stringValue"] for item in made] == [
        f"Hello, {index}!" for index in range(8)
    ]
    assert len(reads) == 2  # the predictor once, the key once


async def test_a_predictor_deleted_before_its_prediction_is_stored(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleeping = "import time\n\ndef predict() -> int:\n    time.sleep(0.5)\n"
    tag = (await create(app, client, ada, sleeping + "    return 1\n"))["tag"]
    monkeypatch.setattr(predictions, "STORE_RUNNING_AFTER_S", 3600.0)

    reply = asyncio.create_task(client.post(f"/predict/{tag}", headers=ada.headers))
    await asyncio.sleep(0.2)  # running, not stored yet
    deleted = await client.delete(f"/predictors/{tag}", headers=ada.headers)
    ended = await reply

    assert deleted.status_code == 200, deleted.text
    assert ended.status_code == 200, ended.text
    async with app.state.database.read() as session:
        row = await session.scalar(
            select(Prediction).where(Prediction.id == ended.json()["id"])
        )
    assert row is not None and row.predictor_id is None
    assert await billed(app, row.id) == 1
