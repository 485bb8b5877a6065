"""The usage service against a real server, with each client."""

from __future__ import annotations

from datetime import UTC, datetime

from openfxn import Function
from tests.client.conftest import Tags


def test_retrieve_counts_predictions_by_predictor(fxn: Function, tags: Tags) -> None:
    fxn.predictions.create(tags.echo, {"value": 1})

    usage = fxn.usage.retrieve()

    assert usage.month == datetime.now(UTC).strftime("%Y-%m")
    assert usage.predictions >= 1
    assert tags.echo in [line.key for line in usage.predictors]


def test_retrieve_takes_a_date(fxn: Function) -> None:
    usage = fxn.usage.retrieve(datetime(2001, 2, 3))

    assert usage.month == "2001-02"
    assert usage.predictions == 0


def test_export_csv_lists_records(fxn: Function, tags: Tags) -> None:
    fxn.predictions.create(tags.echo, {"value": 1})

    lines = fxn.usage.export_csv().splitlines()

    assert len(lines) >= 2
    assert any(tags.echo in line for line in lines[1:])


def test_authorization_decisions_are_a_list(fxn: Function) -> None:
    decisions = fxn.usage.authorization_decisions(count=5)

    assert isinstance(decisions, list)
