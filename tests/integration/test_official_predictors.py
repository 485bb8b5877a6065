"""The official ``fxn`` clients managing predictors and environment variables on
a real server: the Python API and CLI of 0.0.26, and the older 0.0.23 and
0.0.13 creating, listing, archiving and deleting (0.0.23 searching too).

The tests make predictors, each with a fresh tag, from a tiny notebook, ``def
predict(name: str) -> str`` with no requirements, so provisioning needs no
network: from the notebook's path (the client uploads it), and from an upload
URL the client made first (createUploadUrl, then PUT). Provisioning runs in the
background, so a test waits for ACTIVE by asking the server, then checks what
the client shows: the status, and the signature the server inferred.

The Python API is driven by one script run in the client's virtualenv, which
adapts to the two styles: the ``Function`` object (0.0.24 and later) and the
module globals with class methods (before). It takes a list of steps and prints
their results as JSON. ``fxn env`` runs with 0.0.26 only: every version sends
the same three environment-variable documents.

Client bugs that shape these tests (the server can do nothing about them):
0.0.26's ``predictors.retrieve`` and ``fxn retrieve`` call a method that does
not exist, so nothing here retrieves with 0.0.26; 0.0.13's ``Predictor.search``
crashes before sending anything (fixed in 0.0.15); and the 0.0.23 and 0.0.13
CLIs upload the notebook with the key from FXN_ACCESS_KEY only, never the one
``fxn auth login`` stored, so their ``fxn create`` is given the key in that
variable (which every CLI falls back to) instead of logging in.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.official import OfficialClient, describe, printed_json
from tests.integration.support import LiveServer

pytestmark = [pytest.mark.compat, pytest.mark.timeout(300)]

ALL_VERSIONS = ["0.0.26", "0.0.23", "0.0.13"]
MODULE_STYLE = ["0.0.23", "0.0.13"]
SEARCHING = ["0.0.26", "0.0.23"]  # 0.0.13's search crashes client-side
PROVISION_TIMEOUT_S = 90.0

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Greeting"]},
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": [
                "def predict(name: str) -> str:\n",
                '    return f"Hello {name}!"\n',
            ],
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

# The notebook's signature as every client shows it (the fields all share).
SIGNATURE = {
    "inputs": [{"name": "name", "type": "string", "optional": False}],
    "outputs": [{"type": "string"}],
}

CLIENT_STEPS = """\
import dataclasses, json, sys
from pathlib import Path

import fxn

key, api_url, calls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if hasattr(fxn, "Function"):  # 0.0.24 and later
    client = fxn.Function(access_key=key, api_url=api_url)
    predictors, storage = client.predictors, client.storage
    def plain(model):
        return model.model_dump(mode="json")
else:  # module style: globals, and class methods on the types
    fxn.access_key, fxn.api_url = key, api_url
    predictors, storage = fxn.Predictor, fxn.Storage
    plain = dataclasses.asdict

def dump(result):
    if isinstance(result, list):
        return [dump(item) for item in result]
    if result is None or isinstance(result, (bool, str)):
        return result
    return plain(result)

def create(tag, notebook, description):
    return predictors.create(
        tag=tag, notebook=notebook, access="PUBLIC", description=description
    )

STEPS = {
    "upload": lambda path: storage.upload(Path(path), fxn.UploadType.Notebook),
    "create_from_path": lambda tag, path, text: create(tag, Path(path), text),
    "create_from_url": create,
    "list": lambda status: predictors.list(status=status),
    "search": lambda query: predictors.search(query=query),
    "archive": predictors.archive,
    "delete": predictors.delete,
}
print(json.dumps([dump(STEPS[name](*arguments)) for name, *arguments in calls]))
"""


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "greeting.ipynb"
    path.write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    return path


def fresh_tag(server: LiveServer, stem: str) -> str:
    return f"@{server.username}/{stem}-{uuid.uuid4().hex[:8]}"


def unique_word() -> str:
    """A word that no other predictor's description holds, to search for."""
    return f"hello{uuid.uuid4().hex[:10]}"


def call(client: OfficialClient, *steps: tuple[str, ...], home: Path) -> list[Any]:
    """Run ``steps`` in one process of the client's Python; their results."""
    server = client.server
    arguments = (server.key, client.api_url, json.dumps(steps))
    result = client.python(CLIENT_STEPS, *arguments, home=home)
    results = printed_json(result)
    assert isinstance(results, list) and len(results) == len(steps), describe(result)
    return results


def wait_until_active(server: LiveServer, *tags: str) -> None:
    """Poll the server until each predictor has provisioned; fail unless ACTIVE."""
    deadline = time.monotonic() + PROVISION_TIMEOUT_S
    headers = {"Authorization": f"Bearer {server.key}"}
    with httpx.Client(
        base_url=server.url, headers=headers, trust_env=False, timeout=5.0
    ) as http:
        for tag in tags:
            predictor = http.get(f"/predictors/{tag}").raise_for_status().json()
            while predictor["status"] == "PROVISIONING":
                if time.monotonic() > deadline:
                    pytest.fail(f"{tag} still PROVISIONING after the deadline")
                time.sleep(0.1)
                predictor = http.get(f"/predictors/{tag}").raise_for_status().json()
            assert predictor["status"] == "ACTIVE", (
                f"{tag} ended {predictor['status']}: {predictor.get('error')}\n"
                f"provisioning log:\n{predictor.get('log')}"
            )


def seen_signature(predictor: dict[str, Any]) -> dict[str, Any]:
    """The part of the signature a client shows that SIGNATURE describes."""
    signature = predictor["signature"]
    assert signature is not None, f"{predictor['tag']} has no signature"
    return {
        "inputs": [
            {key: parameter[key] for key in ("name", "type", "optional")}
            for parameter in signature["inputs"]
        ],
        "outputs": [{"type": parameter["type"]} for parameter in signature["outputs"]],
    }


def by_tag(predictors: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {predictor["tag"]: predictor for predictor in predictors}


def assert_provisioning(predictor: dict[str, Any], tag: str, owner: str) -> None:
    assert predictor["tag"] == tag
    assert predictor["owner"]["username"] == owner
    assert predictor["type"] == "CLOUD"
    assert predictor["status"] == "PROVISIONING"
    assert predictor["access"] == "PUBLIC"
    assert predictor["signature"] is None  # inferred while provisioning


def assert_active(listed: list[dict[str, Any]], *tags: str) -> None:
    shown = by_tag(listed)
    for tag in tags:
        assert tag in shown, f"{tag} is not among {sorted(shown)}"
        assert shown[tag]["status"] == "ACTIVE"
        assert seen_signature(shown[tag]) == SIGNATURE


def create_active(
    client: OfficialClient, notebook: Path, *tags: str, home: Path, text: str = ""
) -> None:
    """Create predictors from the notebook's path and wait until they are ACTIVE."""
    steps = [("create_from_path", tag, str(notebook), text) for tag in tags]
    call(client, *steps, home=home)
    wait_until_active(client.server, *tags)


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_creates_from_path_and_url_and_lists(
    official_client: OfficialClient, notebook: Path, tmp_path: Path
) -> None:
    server = official_client.server
    from_path, from_url = fresh_tag(server, "path"), fresh_tag(server, "url")

    [url] = call(official_client, ("upload", str(notebook)), home=tmp_path)
    assert url.startswith(f"{server.url}/uploads/{server.username}/notebook/")
    created = call(
        official_client,
        ("create_from_path", from_path, str(notebook), "made from a path"),
        ("create_from_url", from_url, url, "made from a URL"),
        home=tmp_path,
    )
    assert_provisioning(created[0], from_path, server.username)
    assert_provisioning(created[1], from_url, server.username)
    wait_until_active(server, from_path, from_url)
    [listed] = call(official_client, ("list", "ACTIVE"), home=tmp_path)

    assert_active(listed, from_path, from_url)


@pytest.mark.parametrize("official_client", SEARCHING, indirect=True)
def test_python_searches(
    official_client: OfficialClient, notebook: Path, tmp_path: Path
) -> None:
    word = unique_word()
    tag = fresh_tag(official_client.server, "searched")
    create_active(official_client, notebook, tag, home=tmp_path, text=f"Says {word}")

    found, nothing = call(
        official_client, ("search", word), ("search", unique_word()), home=tmp_path
    )

    assert [predictor["tag"] for predictor in found] == [tag]
    assert seen_signature(found[0]) == SIGNATURE
    assert nothing == []


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_archives_and_deletes(
    official_client: OfficialClient, notebook: Path, tmp_path: Path
) -> None:
    server = official_client.server
    archived, deleted = fresh_tag(server, "archived"), fresh_tag(server, "deleted")
    create_active(official_client, notebook, archived, deleted, home=tmp_path)

    archive, active, shelved, *results = call(
        official_client,
        ("archive", archived),
        ("list", "ACTIVE"),
        ("list", "ARCHIVED"),
        ("delete", deleted),
        ("delete", archived),
        ("list", "ACTIVE"),
        ("list", "ARCHIVED"),
        home=tmp_path,
    )

    assert archive["tag"] == archived and archive["status"] == "ARCHIVED"
    assert_active(active, deleted)
    assert archived not in by_tag(active)
    assert by_tag(shelved)[archived]["status"] == "ARCHIVED"
    assert results[:2] == [True, True]
    remaining = by_tag(results[2]) | by_tag(results[3])
    assert archived not in remaining and deleted not in remaining


def login(client: OfficialClient, home: Path) -> None:
    shown = printed_json(client.cli("auth", "login", client.server.key, home=home))
    assert shown["username"] == client.server.username


@pytest.mark.parametrize("official_client", ["0.0.26"], indirect=True)
def test_cli_manages_predictors(
    official_client: OfficialClient, notebook: Path, tmp_path: Path
) -> None:
    server, word = official_client.server, unique_word()
    tag = fresh_tag(server, "cli")
    login(official_client, tmp_path)

    def fxn(*arguments: str) -> Any:
        return printed_json(official_client.cli(*arguments, home=tmp_path))

    created = fxn(
        "create", tag, str(notebook), "--access", "public", "--description", word
    )
    assert_provisioning(created, tag, server.username)
    wait_until_active(server, tag)
    assert_active(fxn("list"), tag)
    assert_active(fxn("search", word), tag)

    assert fxn("archive", tag)["status"] == "ARCHIVED"
    assert tag not in by_tag(fxn("list"))
    assert by_tag(fxn("list", "--status", "ARCHIVED"))[tag]["status"] == "ARCHIVED"

    assert fxn("delete", tag) is True
    assert tag not in by_tag(fxn("list", "--status", "ARCHIVED"))


@pytest.mark.parametrize("official_client", MODULE_STYLE, indirect=True)
def test_old_cli_creates_and_lists(
    official_client: OfficialClient, notebook: Path, tmp_path: Path
) -> None:
    server = official_client.server
    tag = fresh_tag(server, "old-cli")
    key = {"FXN_ACCESS_KEY": server.key}  # not logging in: see the module docstring

    def fxn(*arguments: str) -> Any:
        return printed_json(official_client.cli(*arguments, home=tmp_path, env=key))

    created = fxn("create", tag, str(notebook), "--access", "public")
    assert_provisioning(created, tag, server.username)
    wait_until_active(server, tag)

    assert_active(fxn("list"), tag)


@pytest.mark.parametrize("official_client", ["0.0.26"], indirect=True)
def test_cli_manages_environment_variables(
    official_client: OfficialClient, tmp_path: Path
) -> None:
    name = f"GREETING_{uuid.uuid4().hex[:8].upper()}"
    login(official_client, tmp_path)

    def fxn(*arguments: str) -> Any:
        return printed_json(official_client.cli("env", *arguments, home=tmp_path))

    assert fxn("create", name, "s3cret-value")["name"] == name
    assert name in {variable["name"] for variable in fxn("list")}
    assert fxn("delete", name) is True
    assert name not in {variable["name"] for variable in fxn("list")}
