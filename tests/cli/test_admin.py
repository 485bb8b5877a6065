from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from openfxn.cli import app
from openfxn.server.auth.keys import is_well_formed
from openfxn.server.settings import Settings


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_create_user_prints_key_last(tmp_path: Path) -> None:
    code, stdout, stderr = invoke(
        "admin",
        "create-user",
        "ada",
        "--email",
        "ada@example.com",
        "--data",
        str(tmp_path),
    )

    assert code == 0, stdout + stderr
    assert is_well_formed(stdout.splitlines()[-1])
    assert "shown only once" in stderr


def test_create_key_issues_another_key(tmp_path: Path) -> None:
    invoke("admin", "create-user", "ada", "--data", str(tmp_path))

    code, first, _ = invoke("admin", "create-key", "ada", "--data", str(tmp_path))
    _, second, _ = invoke("admin", "create-key", "ada", "--data", str(tmp_path))

    assert code == 0
    assert is_well_formed(first.splitlines()[-1])
    assert first != second


def test_taken_username_is_a_clear_error(tmp_path: Path) -> None:
    invoke("admin", "create-user", "ada", "--data", str(tmp_path))

    code, stdout, stderr = invoke(
        "admin", "create-user", "ada", "--data", str(tmp_path)
    )

    assert code != 0
    assert "'ada' is taken" in stdout + stderr
    assert "Traceback" not in stdout + stderr


def test_invalid_username_is_a_clear_error(tmp_path: Path) -> None:
    code, stdout, stderr = invoke(
        "admin", "create-user", "Ada!", "--data", str(tmp_path)
    )

    assert code != 0
    assert "not a valid username" in stdout + stderr


def test_key_for_unknown_user_says_how_to_create_it(tmp_path: Path) -> None:
    code, stdout, stderr = invoke(
        "admin", "create-key", "ghost", "--data", str(tmp_path)
    )

    assert code != 0
    assert "openfxn admin create-user ghost" in stdout + stderr


def test_serve_help_lists_every_setting() -> None:
    code, stdout, _ = invoke("serve", "--help")

    assert code == 0
    for variable, _description, _default in Settings.describe():
        assert variable in stdout


def test_invalid_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENFXN_LOG_LEVEL", "loud")

    code, stdout, stderr = invoke("schema", "graphql")

    assert code != 0
    assert "log_level" in stdout + stderr


def test_version_flag_prints_version() -> None:
    code, stdout, _ = invoke("--version")

    assert code == 0
    assert stdout.strip()


def test_unreachable_database_is_one_line() -> None:
    code, stdout, stderr = invoke(
        "admin", "create-user", "ada", "--database-url", "postgresql://x@127.0.0.1:1/x"
    )

    assert code != 0
    assert "Cannot use the database at" in stdout + stderr
    assert "Traceback" not in stdout + stderr
