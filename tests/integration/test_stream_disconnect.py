"""A client that goes away in the middle of a streamed prediction stops it: the
prediction ends at once, saying why, and is billed only for the time it ran."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from tests.integration.support import LiveServer

pytestmark = pytest.mark.timeout(120)

SLOW_WORDS = b"""
import time

def predict(count: int):
    for index in range(count):
        yield f"word {index}"
        time.sleep(0.5)
"""
TAG = "@peter/slow-words"


def create_predictor(client: httpx.Client) -> None:
    source = "data:;name=slow.py;base64," + base64.b64encode(SLOW_WORDS).decode()
    made = client.post("/predictors", json={"tag": TAG, "notebook": source})
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + 60
    while client.get(f"/predictors/{TAG}").json()["status"] != "ACTIVE":
        assert time.monotonic() < deadline, "the predictor never became ACTIVE"
        time.sleep(0.1)


def test_disconnecting_stops_a_streamed_prediction(live_server: LiveServer) -> None:
    client = httpx.Client(
        base_url=live_server.url, auth=(live_server.key, ""), trust_env=False
    )
    with client:
        create_predictor(client)
        started = time.monotonic()
        with client.stream(
            "POST",
            f"/predict/{TAG}?stream=true",
            json={"count": 100},  # 50 s, if nobody stopped it
            headers={"Accept": "application/x-ndjson"},
        ) as response:
            first = json.loads(next(response.iter_lines()))
        # leaving the block closed the connection after the first word
        deadline = time.monotonic() + 10
        while (found := client.get(f"/predictions/{first['id']}").json())[
            "status"
        ] == "RUNNING":
            assert time.monotonic() < deadline, "the prediction was not stopped"
            time.sleep(0.1)
        stopped_after = time.monotonic() - started

    assert first["results"][0]["stringValue"] == "word 0"
    assert found["status"] == "FAILED"
    assert found["error"] == "The client disconnected, so the prediction was stopped."
    assert stopped_after < 10
