"""``openfxn keys create|list|revoke``."""

from __future__ import annotations

import json

from tests.cli.conftest import Run, failure
from tests.integration.support import LiveServer


def test_created_key_is_shown_once_and_works_until_revoked(
    run: Run, live_server: LiveServer
) -> None:
    created = run("keys", "create", "cli-test")
    key = created.stdout.strip()
    as_new_key = Run(live_server.url, key)

    listed = run("keys", "list", "--json")
    before = as_new_key("auth", "status")
    (record,) = [k for k in json.loads(listed.stdout) if k["name"] == "cli-test"]
    revoked = run("keys", "revoke", record["id"])
    after = as_new_key("auth", "status")

    assert created.exit_code == 0, failure(created)
    assert created.stderr == (
        f"Access key 'cli-test' (id {record['id']}), shown only once:\n"
    )
    assert key not in listed.stdout
    assert record["hint"][:4] == key[:4]
    assert "as hedy" in before.stdout, failure(before)
    assert revoked.stdout == f"Revoked access key 'cli-test' (id {record['id']}).\n"
    assert after.exit_code == 1
    assert after.stderr.startswith("Error: The access key is not valid")


def test_expiry_shows_in_the_list(run: Run) -> None:
    created = run("keys", "create", "expiring", "--expires", "2031-01-31", "--json")
    listed = run("keys", "list")

    new = json.loads(created.stdout)
    assert new["key"].startswith("ofxn_"), failure(created)
    assert new["expires"].startswith("2031-01-3")  # midnight here, in UTC
    header, *rows = (line.split("\t") for line in listed.stdout.splitlines())
    assert header == ["ID", "NAME", "HINT", "CREATED", "LAST USED", "EXPIRES"]
    (row,) = [row for row in rows if row[0] == new["id"]]
    assert (row[1], row[4], row[5]) == ("expiring", "never", "2031-01-31")
    run("keys", "revoke", new["id"])


def test_revoking_an_unknown_key_is_one_line(run: Run) -> None:
    result = run("keys", "revoke", "key_nothing")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: You have no active access key with id 'key_nothing'. List your "
        "keys to find its id.\n"
    )
