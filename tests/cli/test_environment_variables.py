"""``openfxn env create|list|delete``: secrets that reach predictors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run, failure, fresh_tag
from tests.conftest import Account


def test_create_list_delete(run: Run) -> None:
    created = run("env", "create", "CLI_TOKEN", "tok_123")
    listed = run("env", "list")
    deleted = run("env", "delete", "CLI_TOKEN")
    after = run("env", "list", "--json")

    assert created.stdout == "Set CLI_TOKEN.\n", failure(created)
    assert "CLI_TOKEN" in listed.stdout.splitlines()
    assert "tok_123" not in listed.stdout
    assert deleted.stdout == "Deleted CLI_TOKEN.\n", failure(deleted)
    assert {"name": "CLI_TOKEN"} not in json.loads(after.stdout)


def test_piped_value_and_env_option_reach_predict(
    run: Run, hedy: Account, source: Path
) -> None:
    tag = fresh_tag(hedy, "secrets")

    stored = run("env", "create", "CLI_SECRET", input="from-stdin\n")
    created = run(
        "predictors", "create", tag, str(source / "secrets.py"),
        "--env", "CLI_OWN=a=b",
    )  # fmt: skip
    result = run("predict", tag)
    run("env", "delete", "CLI_SECRET")

    assert stored.exit_code == 0, failure(stored)
    assert created.exit_code == 0, failure(created)
    assert result.stdout == "from-stdin a=b\n", failure(result)


def test_env_option_without_equals_is_a_usage_error(run: Run, source: Path) -> None:
    result = run(
        "predictors", "create", "@hedy/x", str(source / "words.py"), "--env", "OOPS"
    )

    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        2,
        "Error: --env takes NAME=VALUE, not 'OOPS'.",
    )


def test_deleting_an_unknown_variable_is_one_line(run: Run) -> None:
    result = run("env", "delete", "NO_SUCH_VARIABLE")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: You have no environment variable named 'NO_SUCH_VARIABLE'.\n"
    )
