from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openfxn.cli import app
from openfxn.cli.server import open_services
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


async def seal_and_read(settings: Settings, value: str | None = None) -> dict[str, str]:
    """Store the account variable TOKEN when ``value`` is given; read them all."""
    async with open_services(settings) as services:
        variables = services.environment_variables
        async with variables.database.write() as session:
            if value is not None:
                await variables.store(session, 1, "account", "TOKEN", value)
            return await variables.values(session, 1, "account")


def test_rotate_secrets_moves_them_to_the_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    monkeypatch.setenv("OPENFXN_SECRET_KEY", old)
    invoke("admin", "create-user", "ada", "--data", str(tmp_path))
    asyncio.run(seal_and_read(Settings(data=tmp_path), "canary"))
    monkeypatch.setenv("OPENFXN_SECRET_KEY", new)

    refused = invoke("admin", "rotate-secrets", "--data", str(tmp_path))
    monkeypatch.setenv("OPENFXN_OLD_SECRET_KEYS", old)
    rotated = invoke("admin", "rotate-secrets", "--data", str(tmp_path))
    again = invoke("admin", "rotate-secrets", "--data", str(tmp_path))
    monkeypatch.delenv("OPENFXN_OLD_SECRET_KEYS")

    assert refused[0] == 1
    assert "OPENFXN_OLD_SECRET_KEYS" in refused[1] + refused[2]
    assert rotated[:2] == (0, "Sealed 1 secrets again under the current key.\n")
    assert again[1].startswith("Sealed 0 ")
    assert asyncio.run(seal_and_read(Settings(data=tmp_path))) == {"TOKEN": "canary"}
