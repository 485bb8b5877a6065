"""``openfxn usage``: the month's table and its chart per day."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from openfxn.cli.usage import chart
from tests.cli.conftest import Run, Tags, failure
from tests.client.conftest import make_account
from tests.integration.support import LiveServer

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def caller(live_server: LiveServer, tags: Tags) -> Run:
    """An account that made three predictions today, with hedy's public words."""
    account = make_account(live_server, "lin")
    run = Run(live_server.url, account.key)
    for sentence in ("a", "b c", "d e f"):
        result = run("predict", tags.words, "--sentence", sentence)
        assert result.exit_code == 0, failure(result)
    return run


def test_usage_table_and_chart(caller: Run, tags: Tags) -> None:
    result = caller("usage")

    assert result.exit_code == 0, failure(result)
    lines = result.stdout.splitlines()
    today = date.today()
    assert lines[0] == f"Usage in {datetime.now(UTC):%Y-%m}"
    assert lines[1] == "PREDICTOR\tPREDICTIONS\tTIME\tCOST"
    assert lines[2].split("\t")[:2] == [tags.words, "3"]
    assert lines[3].split("\t")[:2] == ["total", "3"]
    assert lines[4:] == ["Predictions per day", f"{today:%a %d}  {'█' * 40}  3"]


def test_usage_table_on_a_terminal(caller: Run, tags: Tags) -> None:
    result = caller("usage", TTY_COMPATIBLE="1", COLUMNS="100")

    lines = [line.rstrip() for line in ANSI.sub("", result.stdout).splitlines()]
    assert lines[1].split() == ["PREDICTOR", "PREDICTIONS", "TIME", "COST"]
    assert lines[3].split()[:2] == [tags.words, "3"]
    assert set(lines[4]) == {"─"}
    assert lines[5].split()[:2] == ["total", "3"]


def test_usage_json_has_the_days(caller: Run) -> None:
    result = caller("usage", "--json")

    usage = json.loads(result.stdout)
    assert usage["predictions"] == 3
    assert usage["days"] == [{"date": str(date.today()), "predictions": 3}]


def test_a_month_without_predictions(caller: Run) -> None:
    result = caller("usage", "--month", "2025-01")

    assert result.stdout == "Usage in 2025-01\n", failure(result)
    assert result.stderr == "No predictions.\n"


def test_a_wrong_month_is_the_servers_line(caller: Run) -> None:
    result = caller("usage", "--month", "2025-13")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: month '2025-13' is not a month: write")


def test_chart_bars_are_proportional_in_eighths() -> None:
    days = Counter({date(2026, 3, 2): 16, date(2026, 3, 4): 3})

    assert chart(days) == [
        f"Mon 02  {'█' * 40}  16",
        f"Tue 03  {' ' * 40}  0",
        f"Wed 04  {'█' * 7}▌{' ' * 32}  3",
    ]
