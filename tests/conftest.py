"""Fixtures: a migrated database on SQLite and PostgreSQL, the app, and users;
and one real server for the session.

Tests that take ``settings`` (directly or through ``app`` and ``client``) run
once per backend. PostgreSQL is the server named by OPENFXN_TEST_POSTGRES_URL
(default: the local one); outside CI the PostgreSQL runs are skipped when no
server answers, in CI they fail.

``live_server`` is a real ``openfxn serve`` process on a loopback port, shared
by the session (the live-server tests and the client library's tests). It runs
from the ``openfxn`` script of the interpreter running pytest, with a temporary
data directory and one user, ``peter``. Its standard output and error go to
``server.log`` in the temporary directory; a failing test that used the server
gets that log attached to its report. Every subprocess gets an environment
without proxy variables, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from openfxn.server.app import create_app
from openfxn.server.settings import Settings
from openfxn.server.store.database import Database
from openfxn.server.store.migrate import upgrade
from openfxn.server.store.tables import Base
from tests.integration.support import (
    OPENFXN,
    STOP_TIMEOUT_S,
    LiveServer,
    create_user,
    group_is_empty,
    port_is_free,
    start_server,
    stop,
    tail,
)

ROOT = Path(__file__).parents[1]
SPEC = ROOT / "tests" / "fixtures" / "spec"
"""Copies of the wire spec's compatibility SDL and the official clients'
documents, from the team's shared folder; a test keeps them equal to it."""
SHARED_SPEC = ROOT.parent / "shared" / "spec"

POSTGRES_URL = os.environ.get(
    "OPENFXN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def postgres_execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating is slow)."""
    data = tmp_path_factory.mktemp("template")
    upgrade(Settings(data=data))
    return data / "openfxn.db"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database of its own for this test session."""
    name = f"openfxn_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(postgres_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {error}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(Settings(database_url=url))
    yield url
    asyncio.run(postgres_execute(POSTGRES_URL, f'DROP DATABASE "{name}" WITH (FORCE)'))


def sqlite_settings(tmp_path: Path, template: Path, **overrides: Any) -> Settings:
    """Settings on a fresh data directory holding a copy of the migrated
    SQLite ``template``, with ``overrides``."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(template, data / "openfxn.db")
    return Settings(data=data, **overrides)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return sqlite_settings(tmp_path, request.getfixturevalue("sqlite_template"))
    data = tmp_path / "data"
    data.mkdir()
    url = request.getfixturevalue("postgres_database")
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    asyncio.run(postgres_execute(url, f"TRUNCATE {tables} CASCADE"))
    return Settings(data=data, database_url=url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@dataclass(frozen=True)
class Account:
    username: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


MakeAccount = Callable[..., Awaitable[Account]]


@pytest.fixture
def make_account(app: FastAPI) -> MakeAccount:
    """Create a user with one access key, the way `openfxn admin create-user` does."""

    async def make(username: str = "ada", **fields: str) -> Account:
        services = app.state.services
        await services.users.create(username, **fields)
        new_key = await services.access_keys.issue_for(username, "test")
        return Account(username, new_key.key)

    return make


@pytest.fixture
async def ada(make_account: MakeAccount) -> Account:
    return await make_account("ada", email="ada@example.com", name="Ada Lovelace")


async def count_rows(database: Database, table: str) -> int:
    async with database.read() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    assert OPENFXN.exists(), f"no openfxn script next to {sys.executable}"
    root = tmp_path_factory.mktemp("live")
    data = root / "data"
    data.mkdir()
    log = root / "server.log"

    process, url = start_server(data, log)
    port = int(url.rsplit(":", 1)[1])
    try:
        server = LiveServer(url=url, key=create_user(data), data=data, log=log)
        yield server
    finally:
        status, killed = stop(process)
        leftovers = not group_is_empty(process.pid)
        if leftovers:
            os.killpg(process.pid, signal.SIGKILL)

    problems = []
    if killed:
        problems.append(f"it ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s")
    elif status not in (0, -signal.SIGTERM):  # uvicorn re-raises the signal
        problems.append(f"it exited {status} after SIGTERM")
    elif "Application shutdown complete" not in server.log_text():
        problems.append("it did not finish its shutdown")
    if leftovers:
        problems.append("processes of its group outlived it")
    if not port_is_free(port):
        problems.append(f"port {port} is still bound")
    log_text = server.log_text()
    if any(secret in log_text for secret in server.secrets()):
        problems.append("its log contains the access key")
    assert not problems, (
        f"openfxn serve did not stop cleanly: {'; '.join(problems)}. "
        f"Server log:\n{tail(log)}"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server log to the report of a failing test that used it."""
    report = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("openfxn server log (tail)", tail(server.log)))
    return report
