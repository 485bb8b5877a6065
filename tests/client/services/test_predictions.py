"""The predictions service against a real server, with each client."""

from __future__ import annotations

import logging

import pytest

from openfxn import Function, PredictionError, PredictionStatus, Value
from tests.client.conftest import Tags
from tests.conftest import Account
from tests.integration.support import LiveServer


def test_create_returns_results(fxn: Function, tags: Tags) -> None:
    prediction = fxn.predictions.create(tags.echo, {"value": "Peter"})

    assert prediction.results == ["Peter"]
    assert prediction.error is None
    assert prediction.status == PredictionStatus.SUCCEEDED
    assert prediction.values is not None and prediction.values[0].type == "string"


def test_failed_predict_is_data(fxn: Function, tags: Tags) -> None:
    prediction = fxn.predictions.create(tags.failing, {"x": 7})

    assert prediction.results is None
    assert prediction.error and "ValueError: 7 is not welcome here" in prediction.error


def test_raise_on_error_raises_prediction_error(fxn: Function, tags: Tags) -> None:
    with pytest.raises(PredictionError, match="not welcome") as caught:
        fxn.predictions.create(tags.failing, {"x": 7}, raise_on_error=True)

    assert caught.value.prediction.tag == tags.failing


def test_value_input_is_sent_as_is(fxn: Function, tags: Tags) -> None:
    value = Value(data="data:application/octet-stream;base64,UGV0ZXI=", type="string")

    prediction = fxn.predictions.create(tags.echo, {"value": value})

    assert prediction.results == ["Peter"]


def test_large_input_is_uploaded_first(
    fxn: Function, tags: Tags, caplog: pytest.LogCaptureFixture
) -> None:
    text = "x" * 10_000
    caplog.set_level(logging.INFO, logger="openfxn.client")

    prediction = fxn.predictions.create(tags.echo, {"value": text})

    assert prediction.results == [text]
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("PUT /uploads/cleo/value/") for message in messages)
    assert not any("signature" in message for message in messages)


def test_result_above_limit_is_fetched(fxn: Function, tags: Tags) -> None:
    prediction = fxn.predictions.create(tags.echo, {"value": "small"}, data_url_limit=0)

    assert prediction.values and prediction.values[0].data
    assert prediction.values[0].data.startswith("http")
    assert prediction.results == ["small"]


def test_retrieve_returns_same_prediction(fxn: Function, tags: Tags) -> None:
    made = fxn.predictions.create(tags.echo, {"value": [1, 2]})

    again = fxn.predictions.retrieve(made.id)

    assert again.id == made.id
    assert again.results == [[1, 2]]


@pytest.mark.parametrize("framing", ["ndjson", "sse"])
def test_stream_yields_partials_then_final(
    fxn: Function, tags: Tags, framing: str
) -> None:
    streamed = list(
        fxn.predictions.stream(
            tags.words,
            {"sentence": "Hello wide world"},
            framing=framing,  # type: ignore[arg-type]
        )
    )

    assert [p.results for p in streamed] == [["Hello"], ["wide"], ["world"], ["world"]]
    assert len({p.id for p in streamed}) == 1
    assert streamed[-1].status == PredictionStatus.SUCCEEDED
    assert all(p.status == PredictionStatus.RUNNING for p in streamed[:-1])


def test_stream_of_plain_predictor_yields_final_only(fxn: Function, tags: Tags) -> None:
    streamed = list(fxn.predictions.stream(tags.echo, {"value": 3}))

    assert [p.results for p in streamed] == [[3]]


def test_stream_raises_on_error_when_asked(fxn: Function, tags: Tags) -> None:
    with pytest.raises(PredictionError):
        list(fxn.predictions.stream(tags.failing, {"x": 1}, raise_on_error=True))


def test_stream_left_early_stops_cleanly(
    live_server: LiveServer, owner: Account, tags: Tags
) -> None:
    with Function(owner.key, live_server.url) as fxn:
        stream = fxn.predictions.stream(tags.words, {"sentence": "one two three"})
        first = next(iter(stream))
        stream.close()  # type: ignore[attr-defined]

        after = fxn.predictions.create(tags.echo, {"value": "still fine"})

    assert first.results == ["one"]
    assert after.results == ["still fine"]
