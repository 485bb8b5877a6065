"""The ``openfxn`` script: help with an example for every client command, and
shell completion."""

from __future__ import annotations

import subprocess

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from openfxn.cli import app
from tests.integration.support import OPENFXN, loopback_env


def client_commands() -> list[list[str]]:
    """Every command of the client's panel, as words after ``openfxn``."""
    root = get_command(app)
    paths = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        if getattr(command, "rich_help_panel", None) != "Client":
            continue
        subcommands = getattr(command, "commands", {})
        paths += [[name, sub] for sub in subcommands] or [[name]]
    return paths


def script(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPENFXN), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=loopback_env(**env),
        check=False,
    )


def test_the_client_commands_are_all_there() -> None:
    assert sorted(" ".join(path) for path in client_commands()) == [
        "auth login", "auth logout", "auth status", "env create", "env delete",
        "env list", "keys create", "keys list", "keys revoke", "predict",
        "predictors archive", "predictors create", "predictors delete",
        "predictors list", "predictors retrieve", "predictors search", "usage",
    ]  # fmt: skip


@pytest.mark.parametrize("path", client_commands(), ids=" ".join)
def test_every_client_command_has_help_with_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert f"Example: openfxn {' '.join(path)}" in result.stdout


def test_help_groups_client_and_server_commands() -> None:
    result = script("--help", COLUMNS="100")

    assert result.returncode == 0
    assert "─ Client ─" in result.stdout
    assert "─ Server ─" in result.stdout
    assert "--install-completion" in result.stdout


def test_completion_script_and_completions() -> None:
    shown = script("--show-completion", "bash")
    completed = script(
        _OPENFXN_COMPLETE="complete_bash",
        COMP_WORDS="openfxn predictors create --access ",
        COMP_CWORD="4",
    )

    assert shown.returncode == 0
    assert "complete -o default -F _openfxn_completion openfxn" in shown.stdout
    assert completed.stdout.split() == ["PUBLIC", "PRIVATE", "PROTECTED"]
