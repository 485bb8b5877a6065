"""What commands print: tables and fields through rich on a terminal, plain
tab-separated text when piped; JSON for ``--json``; progress on standard error.
And secrets they read: asked for unechoed, or piped in.

Consoles are made per call, so that they write to the streams of the moment
(those of a test's runner included).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.status import Status
from rich.table import Table

Model = TypeVar("Model", bound=BaseModel)


def console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def is_terminal() -> bool:
    """Whether standard output is a terminal (rich's view: ``TTY_COMPATIBLE``
    and ``FORCE_COLOR`` count)."""
    return console().is_terminal


def dump(model: BaseModel) -> dict[str, Any]:
    """A reply as the API spells it (``camelCase``), ready for JSON."""
    return model.model_dump(mode="json", by_alias=True)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def note(message: str) -> None:
    """A line for the person at the terminal, on standard error."""
    typer.echo(message, err=True)


def read_secret(label: str) -> str:
    """A secret typed at an unechoed prompt, or the first line piped in."""
    if sys.stdin.isatty():
        return str(typer.prompt(label, hide_input=True))
    return sys.stdin.readline().rstrip("\r\n")


def listing(
    items: Sequence[Model],
    as_json: bool,
    columns: Sequence[str],
    row: Callable[[Model], Sequence[str]],
    *,
    empty: str,
) -> None:
    """``items`` as a JSON list, or as a :func:`table` of a ``row`` each."""
    if as_json:
        echo_json([dump(item) for item in items])
    else:
        table(columns, [row(item) for item in items], empty=empty)


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    empty: str,
    total: Sequence[str] | None = None,
) -> None:
    """``rows`` under ``columns``, then a ``total`` row; ``empty`` on standard
    error when there are no rows."""
    if not rows:
        note(empty)
        return
    if not is_terminal():
        for line in (columns, *rows, *([total] if total else [])):
            typer.echo("\t".join(line))
        return
    shown = Table(
        box=box.HORIZONTALS,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        header_style="bold",
    )
    for number, column in enumerate(columns, start=1):
        shown.add_column(column, no_wrap=number < len(columns))  # the last may wrap
    for row in rows:
        shown.add_row(*row)
    if total:
        shown.add_section()
        shown.add_row(*total, style="bold")
    console().print(shown)


def fields(pairs: Sequence[tuple[str, str | None]]) -> None:
    """One ``name  value`` line per pair that has a value, aligned."""
    present = [(name, value) for name, value in pairs if value not in (None, "")]
    width = max(len(name) for name, _ in present)
    for name, value in present:
        typer.echo(typer.style(name.ljust(width), bold=True) + f"  {value}")


def when(moment: datetime | None) -> str:
    """A time as the reader's clock shows it, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def day(moment: datetime | None) -> str:
    """The reader's date at ``moment``."""
    return moment.astimezone().strftime("%Y-%m-%d") if moment else ""


def money(dollars: float) -> str:
    """Dollars with cents, or two significant digits of amounts under a cent."""
    if dollars == 0 or dollars >= 0.01:
        return f"${dollars:,.2f}"
    decimals = 1 - math.floor(math.log10(dollars))
    return f"${dollars:.{decimals}f}".rstrip("0")


def duration(milliseconds: float) -> str:
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms" if milliseconds >= 1 else "<1 ms"
    return f"{milliseconds / 1000:,.1f} s"


class Activity:
    """What a slow command is doing: a spinner on a terminal, a line otherwise."""

    def __init__(self, text: str, status: Status | None) -> None:
        self._text = text
        self._status = status
        if status is None:
            note(f"{text}…")

    def update(self, text: str) -> None:
        self._text = text
        if self._status is None:
            note(f"{text}…")
        else:
            self._status.update(f"{text}…")

    def progress(self, sent: int, total: int) -> None:
        """An upload's progress callback."""
        if self._status is not None and total:
            self._status.update(f"{self._text}… {sent / total:.0%}")


@contextlib.contextmanager
def activity(text: str) -> Iterator[Activity]:
    """An :class:`Activity` saying ``text``, gone when the block ends."""
    errors = console(stderr=True)
    if not errors.is_interactive:
        yield Activity(text, None)
        return
    with errors.status(f"{text}…") as status:
        yield Activity(text, status)
