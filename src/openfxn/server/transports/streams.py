"""Streaming a prediction over REST: ``POST /predict/{tag}?stream=true``.

Each partial prediction a generator predictor yields is sent as it comes,
then the final one (the same id; its latency set). Three framings:

- by default, the one the official clients parse: one whole JSON object per
  write, with no delimiter. They parse each network read on its own, so the
  writes are kept apart in time (``GAP_S``) so that they never arrive as one.
  Each object holds only the fields of a 2023 prediction, and each result only
  ``data``, ``type`` and ``shape``: fxn 0.0.22 and 0.0.23 build their
  dataclasses from the object's keys, and any other key makes them raise;
- ``Accept: application/x-ndjson``: one JSON object per line;
- ``Accept: text/event-stream``: server-sent events, ``data: {...}``.

A failure before the first prediction (no such predictor, bad inputs) is an
ordinary error reply; one later is sent as a last object ``{"error": ...}``.
A client that disconnects cancels the prediction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from openfxn.server.errors import ServiceError
from openfxn.server.services.models import Prediction, to_wire
from openfxn.server.transports.errors import envelope

logger = logging.getLogger("openfxn.server")

GAP_S = 0.02
NDJSON = "application/x-ndjson"
SSE = "text/event-stream"

Run = Callable[[Callable[[Prediction], Awaitable[None]]], Awaitable[Prediction]]
Item = Prediction | BaseException | None


OFFICIAL_PREDICTION_FIELDS = (
    "id", "tag", "type", "created", "results", "latency", "error", "logs",
)  # fmt: skip
OFFICIAL_VALUE_FIELDS = ("data", "type", "shape")


def frame(body: dict[str, Any], framing: str) -> bytes:
    data = orjson.dumps(body)
    if framing == SSE:
        return b"data: " + data + b"\n\n"
    if framing == NDJSON:
        return data + b"\n"
    return data


def shown(prediction: Prediction, framing: str) -> dict[str, Any]:
    """``prediction`` on the wire: whole in NDJSON and SSE, and with only the
    fields that the 2023 clients know in their own framing."""
    whole = to_wire(prediction)
    if framing in (NDJSON, SSE):
        return whole
    known = {key: whole[key] for key in OFFICIAL_PREDICTION_FIELDS}
    if known["results"] is not None:
        known["results"] = [
            {key: value[key] for key in OFFICIAL_VALUE_FIELDS}
            for value in known["results"]
        ]
    return known


def framing_of(accept: str | None) -> str:
    accepted = (accept or "").lower()
    for framing in (NDJSON, SSE):
        if framing in accepted:
            return framing
    return "application/json"


async def stream_prediction(run: Run, accept: str | None) -> StreamingResponse:
    """Start ``run`` and stream what it reports; raises what fails it first."""
    framing = framing_of(accept)
    queue: asyncio.Queue[Item] = asyncio.Queue()

    async def report(partial: Prediction) -> None:
        await queue.put(partial)

    async def produce() -> None:
        try:
            await queue.put(await run(report))
        except BaseException as error:  # handed to the reader, which decides
            await queue.put(error)
            if isinstance(error, asyncio.CancelledError):
                raise
        finally:
            await queue.put(None)

    task = asyncio.get_running_loop().create_task(produce())
    first = await queue.get()
    if isinstance(first, BaseException):
        await asyncio.gather(task, return_exceptions=True)
        raise first
    return StreamingResponse(body(first, queue, task, framing), media_type=framing)


async def body(
    first: Item, queue: asyncio.Queue[Item], task: asyncio.Task[None], framing: str
) -> AsyncIterator[bytes]:
    item = first
    try:
        while item is not None:
            if item is not first:
                await asyncio.sleep(GAP_S)  # keep writes apart for the clients
            if isinstance(item, ServiceError):
                yield frame(envelope(item.message), framing)
            elif isinstance(item, BaseException):
                logger.error("streamed prediction failed", exc_info=item)
                yield frame(envelope("The prediction failed; it is logged."), framing)
            else:
                yield frame(shown(item, framing), framing)
            item = await queue.get()
    finally:
        if not task.done():  # the client went away: stop the prediction
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
