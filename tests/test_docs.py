"""The docs keep up with what we own: every setting, operation and command."""

from __future__ import annotations

import re

import pytest
import typer
from typer.main import get_command

from openfxn.cli import app
from openfxn.server.services.operations import OPERATIONS
from openfxn.server.settings import Settings
from tests.conftest import ROOT


def read(name: str) -> str:
    return (ROOT / name).read_text()


def test_every_setting_is_documented() -> None:
    documented = read("docs/configuration.md")

    missing = [var for var, _, _ in Settings.describe() if f"`{var}`" not in documented]

    assert missing == []


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.name)
def test_every_operation_is_documented(operation: object) -> None:
    documented = read("docs/api.md")
    name, method, path = (getattr(operation, key) for key in ("name", "method", "path"))

    assert f"`{name}`" in documented
    assert f"`{method} {path}`" in documented


def command_paths(group: typer.Typer) -> list[str]:
    root = get_command(group)
    paths = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            paths += [f"{name} {sub}" for sub in subcommands]
        else:
            paths.append(name)
    return paths


def test_every_cli_command_is_documented() -> None:
    documented = read("README.md") + read("docs/api.md") + read("docs/client.md")

    missing = [
        path for path in command_paths(app) if f"openfxn {path}" not in documented
    ]

    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    readme = read("README.md")

    assert (
        readme.index("scripts/demo")
        < readme.index("scripts/test")
        < readme.index("---")
    )


def test_relative_links_resolve() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = [
        f"{page.relative_to(ROOT)} -> {target}"
        for page in pages
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", page.read_text())
        if not (page.parent / target).exists()
    ]

    assert broken == []
