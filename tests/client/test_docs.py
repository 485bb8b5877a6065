"""The Python examples of docs/client.md, run in order against the live server.

Each ```python block runs in one namespace, as the user ``ada``, in a folder of
its own. A line ``print(...)  # -> text`` checks that it prints ``text``.
The ``@ada/echo`` notebook the page describes in a ```text block is made from
that block's cells first.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from openfxn import Function, PredictorStatus
from tests.client.conftest import PROVISION_TIMEOUT_S, make_account, notebook
from tests.conftest import ROOT
from tests.integration.support import LiveServer

PAGE = ROOT / "docs" / "client.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
CHECKED_PRINT = re.compile(r"^(\s*)print\((.*)\)\s*# -> (.*)$")


def blocks(language: str) -> list[str]:
    return [code for kind, code in BLOCK.findall(PAGE.read_text()) if kind == language]


def checked(code: str) -> str:
    """``code`` with each ``print(...)  # -> text`` made a check of its output."""
    lines = []
    for line in code.splitlines():
        match = CHECKED_PRINT.match(line)
        if match:
            indent, arguments, expected = match.groups()
            line = f"{indent}__check__({expected!r}, {arguments})"
        lines.append(line)
    return "\n".join(lines)


def check(expected: str, *arguments: Any) -> None:
    shown = io.StringIO()
    print(*arguments, file=shown)
    assert shown.getvalue().rstrip("\n") == expected


@pytest.fixture
def ada(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The account ``ada``, in the environment, with ``@ada/echo`` ready."""
    account = make_account(live_server, "ada")
    monkeypatch.setenv("OPENFXN_API_URL", live_server.url)
    monkeypatch.setenv("OPENFXN_ACCESS_KEY", account.key)
    monkeypatch.chdir(tmp_path)
    (echo,) = [code for code in blocks("text") if code.startswith("%pip")]
    source = tmp_path / "echo.ipynb"
    source.write_text(notebook(*echo.split("---\n")), encoding="utf-8")
    with Function() as fxn:
        tag = fxn.predictors.create("@ada/echo", source).tag
        ready = fxn.predictors.wait(tag, timeout=PROVISION_TIMEOUT_S)
    assert ready.status == PredictorStatus.ACTIVE, ready.error


@pytest.mark.usefixtures("ada")
def test_python_examples_run() -> None:
    namespace: dict[str, Any] = {"__check__": check, "__name__": "docs"}

    for number, code in enumerate(blocks("python"), start=1):
        try:
            exec(compile(checked(code), f"client.md block {number}", "exec"), namespace)
        except Exception as error:
            pytest.fail(f"block {number} failed: {error!r}\n{code}")

    namespace["fxn"].close()
