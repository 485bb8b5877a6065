"""The committed schemas under schemas/ equal what `openfxn schema` prints."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from openfxn.cli import app
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("command", "committed"),
    [("graphql", "schema.graphql"), ("openapi", "openapi.json")],
)
def test_committed_schema_is_current(command: str, committed: str) -> None:
    result = CliRunner().invoke(app, ["schema", command])

    assert result.exit_code == 0, result.output
    assert result.stdout == (ROOT / "schemas" / committed).read_text(), (
        f"schemas/{committed} is stale: run "
        f"'openfxn schema {command} > schemas/{committed}' and commit it."
    )
