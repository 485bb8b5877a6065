"""The environment_variables service against a real server, with each client."""

from __future__ import annotations

import uuid

import pytest

from openfxn import Function, NotFoundError


def test_create_list_delete_variable(fxn: Function) -> None:
    name = f"TOKEN_{uuid.uuid4().hex[:8].upper()}"

    created = fxn.environment_variables.create(name, "s3cret")
    listed = [variable.name for variable in fxn.environment_variables.list()]
    deleted = fxn.environment_variables.delete(name)

    assert created.name == name
    assert name in listed
    assert deleted is True
    assert name not in [v.name for v in fxn.environment_variables.list()]


def test_delete_unknown_variable_is_not_found(fxn: Function) -> None:
    with pytest.raises(NotFoundError):
        fxn.environment_variables.delete("NO_SUCH_VARIABLE")
