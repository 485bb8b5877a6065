"""``openfxn usage``: a month's predictions and costs, with a chart per day."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Annotated

import typer

from openfxn import Usage, UsageLine
from openfxn.cli.options import JsonOutput, connect
from openfxn.cli.output import dump, duration, echo_json, money, table

BLOCKS = " ▏▎▍▌▋▊▉█"
"""Eighths of a cell, so that bars grow smoothly."""
BAR_WIDTH = 40


def per_day(records: str) -> Counter[date]:
    """Predictions per day (in the reader's time zone) of a usage CSV export."""
    days: Counter[date] = Counter()
    for record in csv.DictReader(io.StringIO(records)):
        days[datetime.fromisoformat(record["created"]).astimezone().date()] += 1
    return days


def bar(value: int, largest: int) -> str:
    eighths = round(value / largest * BAR_WIDTH * 8) if largest else 0
    if value and not eighths:
        eighths = 1  # a day with any prediction shows
    full, rest = divmod(eighths, 8)
    return BLOCKS[-1] * full + (BLOCKS[rest] if rest else "")


def chart(days: Counter[date]) -> list[str]:
    """A line per day from the first to the last with predictions."""
    if not days:
        return []
    first, last = min(days), max(days)
    largest = max(days.values())
    lines = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        count = days.get(day, 0)
        lines.append(f"{day:%a %d}  {bar(count, largest):<{BAR_WIDTH}}  {count}")
    return lines


def row(name: str, sums: Usage | UsageLine) -> tuple[str, str, str, str]:
    return name, str(sums.predictions), duration(sums.latency), money(sums.cost)


def usage_table(usage: Usage) -> None:
    rows = [row(line.key or "", line) for line in usage.predictors]
    columns = ("PREDICTOR", "PREDICTIONS", "TIME", "COST")
    table(columns, rows, total=row("total", usage), empty="No predictions.")


def usage(
    ctx: typer.Context,
    month: Annotated[
        str | None,
        typer.Option(
            help="Which month, YYYY-MM (default: this one).", show_default=False
        ),
    ] = None,
    as_json: JsonOutput = False,
) -> None:
    """Show a month of your usage: predictions, time and cost per predictor, and
    a chart of predictions per day.

    Example: `openfxn usage --month 2026-01`
    """
    fxn = connect(ctx)
    summary = fxn.usage.retrieve(month)
    days = per_day(fxn.usage.export_csv(summary.month))
    if as_json:
        daily = [{"date": str(day), "predictions": days[day]} for day in sorted(days)]
        echo_json({**dump(summary), "days": daily})
        return
    typer.echo(f"Usage in {summary.month}")
    usage_table(summary)
    if days:
        typer.echo("Predictions per day")
        for line in chart(days):
            typer.echo(line)
