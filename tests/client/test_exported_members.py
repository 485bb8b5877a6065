"""The public surface is exactly ``openfxn.__all__``, and it is documented."""

from __future__ import annotations

import inspect

import pytest

import openfxn
from openfxn import AsyncFunction, Function


def test_all_names_every_public_member() -> None:
    public = {
        name
        for name, value in vars(openfxn).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }

    assert public == set(openfxn.__all__) - {"__version__"}


def test_every_exported_name_exists() -> None:
    missing = [name for name in openfxn.__all__ if not hasattr(openfxn, name)]

    assert missing == []


def test_exported_classes_and_functions_have_docstrings() -> None:
    undocumented = [
        name
        for name in openfxn.__all__
        if (
            inspect.isclass(getattr(openfxn, name))
            or inspect.isfunction(getattr(openfxn, name))
        )
        and not inspect.getdoc(getattr(openfxn, name))
    ]

    assert undocumented == []


def services(client: type) -> dict[str, type]:
    instance = client("key", "http://server.test")
    found = {
        name: type(value)
        for name, value in vars(instance).items()
        if not name.startswith("_")
    }
    if isinstance(instance, Function):
        instance.close()
    return found


def methods(service: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(service).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


async def test_async_client_mirrors_sync_client() -> None:
    sync, asynchronous = services(Function), services(AsyncFunction)

    assert sync.keys() == asynchronous.keys()
    for name, service in sync.items():
        twin = asynchronous[name]
        sync_methods, async_methods = methods(service), methods(twin)
        assert sync_methods.keys() == async_methods.keys(), name
        for method, signature in sync_methods.items():
            assert async_methods[method].parameters == signature.parameters, method


@pytest.mark.parametrize("client", [Function, AsyncFunction])
def test_every_service_method_has_a_docstring(client: type) -> None:
    undocumented = [
        f"{service.__name__}.{name}"
        for service in services(client).values()
        for name, member in vars(service).items()
        if inspect.isfunction(member)
        and not name.startswith("_")
        and not inspect.getdoc(member)
    ]

    assert undocumented == []
