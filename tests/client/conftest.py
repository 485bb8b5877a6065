"""Fixtures of the client library's tests: accounts and predictors on the live
server, and ``fxn``, a client of each kind.

``fxn`` runs each test twice: with a :class:`Function`, and with an
:class:`AsyncFunction` behind ``Blocking``, which runs each awaited call on a
loop of the test's own (and collects a stream into a list), so that one test
body covers both clients. Tests of what only ``async`` code can do (``async
for``, concurrency) are written as ``async def`` tests instead.

Every test runs with the credentials file, ``OPENFXN_*`` and ``FXN_*``
settings pointing nowhere, so that nothing of the machine leaks in.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from openfxn import AccessMode, AsyncFunction, Function, PredictorStatus
from tests.conftest import Account
from tests.integration.support import LiveServer, create_user

PROVISION_TIMEOUT_S = 120.0

ECHO = """\
import numpy as np
from PIL import Image

def predict(value):
    return value
"""
WORDS = """\
def predict(sentence: str):
    for word in sentence.split():
        yield word
"""
FAILING = """\
def predict(x: int) -> int:
    raise ValueError(f"{x} is not welcome here")
"""


def notebook(*cells: str) -> str:
    """An nbformat 4 notebook of code cells, as JSON."""
    code = [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        for source in cells
    ]
    document = {"cells": code, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document)


def fresh_tag(account: Account, stem: str) -> str:
    return f"@{account.username}/{stem}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Tags:
    """The session's predictors, all ACTIVE and owned by ``owner``."""

    echo: str
    """Returns its input as it is; numpy and Pillow installed; PUBLIC."""
    words: str
    """A generator: yields each word of ``sentence``."""
    failing: str
    """Raises ValueError."""
    search_word: str
    """A word only ``echo``'s description holds."""


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in (
        "OPENFXN_ACCESS_KEY", "OPENFXN_API_URL", "FXN_ACCESS_KEY", "FXN_API_URL",
    ):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OPENFXN_CREDENTIALS", str(tmp_path / "credentials.json"))


def make_account(server: LiveServer, username: str) -> Account:
    key = create_user(server.data, username=username, email=f"{username}@example.com")
    return Account(username, key)


@pytest.fixture(scope="session")
def owner(live_server: LiveServer) -> Account:
    """The account the client tests act as; it owns the session's predictors."""
    return make_account(live_server, "cleo")


@pytest.fixture(scope="session")
def rival(live_server: LiveServer) -> Account:
    """Another account, for what one may not do to another's things."""
    return make_account(live_server, "remy")


@pytest.fixture(scope="session")
def tags(
    live_server: LiveServer, owner: Account, tmp_path_factory: pytest.TempPathFactory
) -> Tags:
    folder = tmp_path_factory.mktemp("predictors")
    search_word = f"zebra{uuid.uuid4().hex[:10]}"
    sources = {
        "echo": ("echo.ipynb", notebook("%pip install numpy pillow", ECHO)),
        "words": ("words.py", WORDS),
        "failing": ("failing.py", FAILING),
    }
    made = {}
    with Function(owner.key, live_server.url) as fxn:
        for stem, (name, text) in sources.items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            public = stem == "echo"
            predictor = fxn.predictors.create(
                fresh_tag(owner, stem),
                path,
                access=AccessMode.PUBLIC if public else None,
                description=f"Echoes, for {search_word}" if public else None,
            )
            made[stem] = predictor.tag
        for tag in made.values():
            predictor = fxn.predictors.wait(tag, timeout=PROVISION_TIMEOUT_S)
            assert predictor.status == PredictorStatus.ACTIVE, (
                f"{tag} ended {predictor.status}: {predictor.error}\n{predictor.log}"
            )
    return Tags(**made, search_word=search_word)


async def collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


class Blocking:
    """An AsyncFunction (or one of its services) whose calls block."""

    def __init__(self, target: object, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if type(value).__module__.startswith("openfxn._client.services"):
            return Blocking(value, self._loop)
        if callable(value):
            return functools.partial(self._call, value)
        return value

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if inspect.isawaitable(result):
            return self._loop.run_until_complete(result)
        if isinstance(result, AsyncIterator):
            return self._loop.run_until_complete(collect(result))
        return result


@pytest.fixture(params=["sync", "async"])
def fxn(
    request: pytest.FixtureRequest, live_server: LiveServer, owner: Account
) -> Iterator[Function]:
    """A client acting as ``owner``: a Function, then an AsyncFunction."""
    if request.param == "sync":
        with Function(owner.key, live_server.url) as client:
            yield client
        return
    loop = asyncio.new_event_loop()
    client = AsyncFunction(owner.key, live_server.url)
    try:
        yield cast(Function, Blocking(client, loop))
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


@pytest.fixture
def as_rival(live_server: LiveServer, rival: Account) -> Iterator[Function]:
    with Function(rival.key, live_server.url) as client:
        yield client
