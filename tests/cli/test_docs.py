"""The command-line examples of docs/client.md, run in order against the live
server, as the user ``grace``, each checked against the output the page shows.

A ```console block holds commands (``$ openfxn ...``), each followed by the
lines it prints, standard output and error together, as a terminal shows them
(tables drawn, no colours, no spinner). Lines are compared with their runs of
spaces made one, so that column widths do not matter; a line of box-drawing
characters matches any such line. In the shown output:

- ``...`` on a line of its own stands for any number of lines;
- ``<name>`` stands for text that changes from run to run. A name that a later
  command uses (``keys revoke <key-id>``) holds the value first shown, and the
  command gets it; ``<key>`` holds grace's key from the start.

The page shows the server as ``http://127.0.0.1:8000`` and the credentials as
``~/.config/openfxn/credentials.json``; the live server's URL and the test's
own file are shown as those. The files the commands read are the page's
```python NAME blocks, ``echo.ipynb`` (made from the page's ```text notebook),
and ``logo.png``, a picture drawn here.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from openfxn.cli import app
from tests.cli.conftest import failure
from tests.client.conftest import make_account, notebook
from tests.conftest import ROOT
from tests.integration.support import LiveServer

PAGE = ROOT / "docs" / "client.md"
FENCE = re.compile(r"^```(\w+)(?: (\S+))?\n(.*?)^```", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"<([a-z][a-z-]*)>")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BOX = frozenset("─━═┼┿│ ")
SHOWN_URL = "http://127.0.0.1:8000"
SHOWN_CREDENTIALS = "~/.config/openfxn/credentials.json"
TERMINAL = {
    "TTY_COMPATIBLE": "1",  # tables as on a terminal,
    "TTY_INTERACTIVE": "0",  # with a line instead of a spinner,
    "NO_COLOR": "1",
    "COLUMNS": "120",
}


@dataclass(frozen=True)
class Example:
    command: str
    shown: list[str]

    @property
    def is_error(self) -> bool:
        return any(line.startswith("Error:") for line in self.shown)


def fences(language: str) -> list[tuple[str, str]]:
    """The (name, text) of each block of ``language`` on the page."""
    return [
        (name, text)
        for kind, name, text in FENCE.findall(PAGE.read_text(encoding="utf-8"))
        if kind == language
    ]


def examples() -> list[Example]:
    found: list[Example] = []
    for _, text in fences("console"):
        for line in text.splitlines():
            if line.startswith("$ "):
                found.append(Example(line[2:], []))
            else:
                found[-1].shown.append(line)
    return found


def named_in_commands(found: list[Example]) -> set[str]:
    return {name for e in found for name in PLACEHOLDER.findall(e.command)}


def flat(line: str) -> str:
    return " ".join(line.split())


def line_pattern(
    line: str, values: dict[str, str], named: set[str], opened: set[str]
) -> str:
    """A regular expression for one shown line. A ``named`` placeholder without
    a value becomes a group, once (``opened``), and then a reference to it."""
    if line.strip() and set(line) <= BOX:
        return f"[{''.join(sorted(BOX - {' '}))} ]+"
    pattern, end = [], 0
    for match in PLACEHOLDER.finditer(line):
        pattern.append(re.escape(line[end : match.start()]))
        name = match.group(1)
        group = name.replace("-", "_")
        if name in values:
            pattern.append(re.escape(values[name]))
        elif name in opened:
            pattern.append(f"(?P={group})")
        elif name in named:
            opened.add(name)
            pattern.append(f"(?P<{group}>\\S+)")
        else:
            pattern.append(".+?")
        end = match.end()
    pattern.append(re.escape(line[end:]))
    return "".join(pattern)


def matches(
    shown: list[str], output: str, values: dict[str, str], named: set[str]
) -> dict[str, str] | None:
    """The named values ``output`` gives when it is what ``shown`` shows."""
    parts, opened = [], set()
    for line in shown:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(line_pattern(flat(line), values, named, opened) + r"\n")
    found = re.fullmatch("".join(parts), output)
    if found is None:
        return None
    return {name.replace("_", "-"): value for name, value in found.groupdict().items()}


@pytest.fixture
def folder(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The current folder, holding the files the examples read."""
    monkeypatch.chdir(tmp_path)
    for name, text in fences("python"):
        if name:
            (tmp_path / name).write_text(text, encoding="utf-8")
    (echo,) = [text for _, text in fences("text") if text.startswith("%pip")]
    (tmp_path / "echo.ipynb").write_text(notebook(*echo.split("---\n")))
    Image.new("RGB", (32, 32), (200, 30, 30)).save(tmp_path / "logo.png")
    return tmp_path


def test_command_line_examples(
    live_server: LiveServer, folder: Path, isolated: Path
) -> None:
    found = examples()
    named = named_in_commands(found)
    values = {"key": make_account(live_server, "grace").key}
    env = {"OPENFXN_API_URL": live_server.url, **TERMINAL}
    assert len(found) > 20, "the page's console examples were not found"

    for example in found:
        command = PLACEHOLDER.sub(lambda m: values[m.group(1)], example.command)
        words = shlex.split(command)
        assert words[0] == "openfxn", example.command
        result = CliRunner().invoke(app, words[1:], env=env)
        output = ANSI.sub("", result.output)
        output = output.replace(live_server.url, SHOWN_URL)
        output = output.replace(str(isolated), SHOWN_CREDENTIALS)
        output = "".join(flat(line) + "\n" for line in output.splitlines())

        new = matches(example.shown, output, values, named)
        assert new is not None, (
            f"$ {example.command}\nthe page shows:\n"
            + "\n".join(example.shown)
            + f"\nit printed:\n{output}"
        )
        assert (result.exit_code != 0) == example.is_error, failure(result)
        values.update(new)
