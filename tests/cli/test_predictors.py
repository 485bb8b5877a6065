"""``openfxn predictors create|retrieve|list|search|delete|archive``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import Run, Tags, failure, fresh_tag, provision
from tests.conftest import Account
from tests.integration.support import LiveServer

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

TERMINAL = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"}
"""A terminal, as far as rich can tell: tables, and a spinner."""
COLUMNS = ["TAG", "STATUS", "ACCESS", "PREDICTIONS", "CREATED", "DESCRIPTION"]


def fields(stdout: str) -> dict[str, str]:
    """The ``name  value`` lines of a predictor, as a dict."""
    pairs = (line.split(maxsplit=1) for line in ANSI.sub("", stdout).splitlines())
    return {name: value for name, value in pairs}


def test_create_spins_until_active_then_shows_it(
    run: Run, hedy: Account, source: Path
) -> None:
    tag = fresh_tag(hedy, "words")

    result = run(
        "predictors", "create", tag, str(source / "words.py"),
        "--access", "public", "--description", "Splits words.", **TERMINAL,
    )  # fmt: skip

    assert result.exit_code == 0, failure(result)
    shown = fields(result.stdout)
    assert (shown["tag"], shown["status"], shown["access"]) == (
        tag,
        "ACTIVE",
        "PUBLIC",
    )
    assert (shown["inputs"], shown["description"]) == (
        "sentence (string)",
        "Splits words.",
    )
    assert f"Provisioning {tag}…" in result.stderr  # the spinner's text
    assert "⠋" in result.stderr  # its first frame


def test_create_that_ends_invalid_exits_3_with_the_error(
    run: Run, hedy: Account, source: Path
) -> None:
    tag = fresh_tag(hedy, "broken")

    result = run("predictors", "create", tag, str(source / "missing_module.py"))

    assert result.exit_code == 3, failure(result)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Uploading {source / 'missing_module.py'}…",
        f"Provisioning {tag}…",
        f"Error: {tag} is INVALID: The predictor needs the module "
        "`nonexistent_module_xyz`, which is not installed (line 1 of predictor.py: "
        "`import nonexistent_module_xyz`). Add `nonexistent_module_xyz` to the "
        "predictor's requirements, or install it from the notebook with `%pip "
        "install nonexistent_module_xyz`.",
    ]


def test_create_without_waiting_leaves_it_provisioning(
    run: Run, hedy: Account, source: Path
) -> None:
    tag = fresh_tag(hedy, "later")

    result = run(
        "predictors", "create", tag, str(source / "words.py"), "--no-wait", "--json"
    )

    assert result.exit_code == 0, failure(result)
    assert json.loads(result.stdout)["status"] == "PROVISIONING"


def test_retrieve_shows_status_and_signature(run: Run, tags: Tags) -> None:
    result = run("predictors", "retrieve", tags.failing)

    assert result.exit_code == 0, failure(result)
    shown = fields(result.stdout)
    assert shown["status"] == "ACTIVE"
    assert shown["inputs"] == "x (int64), json (bool, optional)"
    assert shown["outputs"] == "(int64)"


def test_retrieve_json_has_the_api_fields(run: Run, tags: Tags) -> None:
    result = run("predictors", "retrieve", tags.words, "--json")

    predictor = json.loads(result.stdout)
    assert predictor["tag"] == tags.words
    assert predictor["owner"]["username"] == "hedy"
    assert predictor["signature"]["inputs"][0]["name"] == "sentence"


def test_list_prints_tab_separated_rows_when_piped(run: Run, tags: Tags) -> None:
    result = run("predictors", "list")

    assert result.exit_code == 0, failure(result)
    header, *rows = (line.split("\t") for line in result.stdout.splitlines())
    assert header == [
        "TAG",
        "STATUS",
        "ACCESS",
        "PREDICTIONS",
        "CREATED",
        "DESCRIPTION",
    ]
    by_tag = {row[0]: row for row in rows}
    assert by_tag[tags.words][1:3] == ["ACTIVE", "PUBLIC"]
    assert by_tag[tags.failing][1:3] == ["ACTIVE", "PRIVATE"]


def test_list_is_a_table_on_a_terminal(run: Run, tags: Tags) -> None:
    result = run("predictors", "list", "--owner", "hedy", **TERMINAL)

    lines = ANSI.sub("", result.stdout).splitlines()
    assert lines[0].split() == COLUMNS
    assert set(lines[1]) == {"─"}
    assert any(line.startswith(f"{tags.words} ") for line in lines)


def test_list_of_another_user_shows_public_ones(as_ivan: Run, tags: Tags) -> None:
    result = as_ivan("predictors", "list", "--owner", "hedy", "--json")

    listed = {predictor["tag"] for predictor in json.loads(result.stdout)}
    assert tags.words in listed
    assert tags.failing not in listed


def test_search_finds_by_description(run: Run, tags: Tags) -> None:
    result = run("predictors", "search", tags.search_word, "--json")

    assert [p["tag"] for p in json.loads(result.stdout)] == [tags.words]


def test_search_without_match_says_so(run: Run) -> None:
    result = run("predictors", "search", "nothing-matches-this-zzz")

    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "No predictor matches.\n"


def test_archive_then_delete(
    run: Run, live_server: LiveServer, hedy: Account, source: Path
) -> None:
    tag = provision(live_server, hedy, {"spare": source / "words.py"})["spare"]

    archived = run("predictors", "archive", tag)
    listed = run("predictors", "list", "--status", "archived", "--json")
    deleted = run("predictors", "delete", tag)
    gone = run("predictors", "retrieve", tag)

    assert archived.stdout == f"Archived {tag}.\n", failure(archived)
    assert tag in [p["tag"] for p in json.loads(listed.stdout)]
    assert deleted.stdout == f"Deleted {tag}.\n", failure(deleted)
    assert gone.exit_code == 1
    assert gone.stderr == f"Error: There is no predictor {tag} that you can see.\n"


@pytest.mark.parametrize("command", ["delete", "archive"])
def test_removing_anothers_predictor_is_refused(
    as_ivan: Run, tags: Tags, command: str
) -> None:
    result = as_ivan("predictors", command, tags.failing)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: There is no predictor {tags.failing} that you can see.\n"
    )
