"""The prediction fast path (transports/fast.py) against the createPrediction
route it stands in for: the same reply, the same errors, still logged and
counted. A query parameter the fast path does not take sends a request to the
route, which ignores it, so each case is asked both ways."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from openfxn.server.transports.fast import FastPredictions
from tests.conftest import Account
from tests.server.services.test_predictors import create

# The fast path leaves a request with this parameter to the route.
TO_THE_ROUTE = "viaRoute=1"
PER_PREDICTION = ("id", "created", "latency", "coldStart")


async def both_ways(
    client: httpx.AsyncClient, path: str, **request: Any
) -> tuple[httpx.Response, httpx.Response]:
    fast = await client.post(path, **request)
    joiner = "&" if "?" in path else "?"
    routed = await client.post(f"{path}{joiner}{TO_THE_ROUTE}", **request)
    return fast, routed


def comparable(response: httpx.Response) -> tuple[int, Any]:
    """The reply without what differs from one prediction to the next: its
    id, times, and the URLs of results stored as files."""
    body = response.json()
    if not isinstance(body, dict):
        return response.status_code, body
    for key in PER_PREDICTION:
        body.pop(key, None)
    for value in body.get("results") or []:
        if value["data"].startswith("http"):
            value["data"] = "a URL"
    return response.status_code, body


@pytest.mark.parametrize(
    "query", ["", "?dataUrlLimit=0", "?dataUrlLimit=undefined&rawOutputs=true"]
)
async def test_a_prediction_is_the_routes(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    query: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = (await create(app, client, ada))["tag"]
    taken = []
    predict = FastPredictions.predict

    async def counted(self: FastPredictions, *arguments: Any) -> None:
        taken.append(arguments[0]["query_string"])
        await predict(self, *arguments)

    monkeypatch.setattr(FastPredictions, "predict", counted)

    fast, routed = await both_ways(
        client, f"/predict/{tag}{query}", json={"name": "Ada"}, headers=ada.headers
    )

    assert fast.status_code == 200
    assert fast.headers["content-type"] == "application/json"
    assert comparable(fast) == comparable(routed)
    assert fast.json()["id"] != routed.json()["id"]
    assert taken == [query.removeprefix("?").encode()]  # the fast path, once


@pytest.mark.parametrize(
    "request_",
    [
        {"content": b"", "headers": {"Content-Type": "application/json"}},
        {"content": b"null", "headers": {"Content-Type": "application/json"}},
        {"content": b'{"name": ', "headers": {"Content-Type": "application/json"}},
        {"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}},
        {"content": b"name=Ada", "headers": {"Content-Type": "text/plain"}},
        {"json": {"name": "Ada"}, "headers": {"Authorization": ""}},  # no key
        {"json": {"name": "Ada"}, "headers": {"Authorization": "Bearer nope"}},
    ],
    ids=["empty", "null", "broken", "list", "text", "anonymous", "bad-key"],
)
async def test_bad_requests_get_the_routes_errors(
    app: FastAPI, client: httpx.AsyncClient, ada: Account, request_: dict[str, Any]
) -> None:
    tag = (await create(app, client, ada))["tag"]
    body = {key: value for key, value in request_.items() if key != "headers"}
    headers = {**ada.headers, **request_["headers"]}
    if headers["Authorization"] == "":
        del headers["Authorization"]

    fast, routed = await both_ways(client, f"/predict/{tag}", headers=headers, **body)

    assert comparable(fast) == comparable(routed)


@pytest.mark.parametrize(
    "tag", ["@ada/missing", "@nobody/greeting", "@ada/" + "x" * 80, "no-at-sign"]
)
async def test_unknown_tags_get_the_routes_errors(
    client: httpx.AsyncClient, ada: Account, tag: str
) -> None:
    fast, routed = await both_ways(
        client, f"/predict/{tag}", json={"name": "Ada"}, headers=ada.headers
    )

    assert fast.status_code >= 400
    assert comparable(fast) == comparable(routed)
    assert fast.json()["errors"] == [{"message": fast.json()["error"]}]


async def test_fast_predictions_are_logged_and_counted(
    app: FastAPI,
    client: httpx.AsyncClient,
    ada: Account,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tag = (await create(app, client, ada))["tag"]
    caplog.set_level(logging.INFO, logger="openfxn.access")

    response = await client.post(
        f"/predict/{tag}", json={"name": "Ada"}, headers=ada.headers
    )

    assert response.status_code == 200
    (line,) = [r for r in caplog.records if r.name == "openfxn.access"]
    assert line.getMessage().startswith(f"POST /predict/{tag} 200 ")
    assert line.getMessage().endswith(" ada")
    text = (await client.get("/metrics")).text
    assert (
        'openfxn_http_requests_total{method="POST",route="/predict/{tag:path}",'
        'status="200"} 1.0'
    ) in text


async def test_result_urls_name_the_host_each_request_used(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    tag = (await create(app, client, ada))["tag"]

    async def result_url(host: str) -> str:
        response = await client.post(
            f"/predict/{tag}?dataUrlLimit=0",
            json={"name": "Ada"},
            headers={**ada.headers, "Host": host},
        )
        data: str = response.json()["results"][0]["data"]
        return data

    first = [await result_url(host) for host in ("one.test", "two.test:8080")]
    again = await result_url("one.test")

    assert first[0].startswith("http://one.test/")
    assert first[1].startswith("http://two.test:8080/")
    assert again.startswith("http://one.test/")
