"""What only async code does with AsyncFunction: ``async for`` over a stream,
leaving it early, and predictions running side by side."""

from __future__ import annotations

import asyncio

from openfxn import AsyncFunction, PredictionStatus
from tests.client.conftest import Tags
from tests.conftest import Account
from tests.integration.support import LiveServer


async def test_async_for_streams_partials(
    live_server: LiveServer, owner: Account, tags: Tags
) -> None:
    async with AsyncFunction(owner.key, live_server.url) as fxn:
        streamed = [
            prediction.results
            async for prediction in fxn.predictions.stream(
                tags.words, {"sentence": "a b"}, framing="sse"
            )
        ]

    assert streamed == [["a"], ["b"], ["b"]]


async def test_leaving_stream_early_closes_it(
    live_server: LiveServer, owner: Account, tags: Tags
) -> None:
    async with AsyncFunction(owner.key, live_server.url) as fxn:
        stream = fxn.predictions.stream(tags.words, {"sentence": "one two three"})
        async for prediction in stream:
            assert prediction.status == PredictionStatus.RUNNING
            break
        await stream.aclose()  # type: ignore[attr-defined]

        after = await fxn.predictions.create(tags.echo, {"value": "still fine"})

    assert after.results == ["still fine"]


async def test_predictions_run_side_by_side(
    live_server: LiveServer, owner: Account, tags: Tags
) -> None:
    async with AsyncFunction(owner.key, live_server.url) as fxn:
        made = await asyncio.gather(
            *(fxn.predictions.create(tags.echo, {"value": n}) for n in range(8))
        )

    assert [prediction.results for prediction in made] == [[n] for n in range(8)]
