"""Fixtures: a migrated database on SQLite and PostgreSQL, the app, and users.

Tests that take ``settings`` (directly or through ``app`` and ``client``) run
once per backend. PostgreSQL is the server named by OPENFXN_TEST_POSTGRES_URL
(default: the local one); outside CI the PostgreSQL runs are skipped when no
server answers, in CI they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), data / "openfxn.db")
        return Settings(data=data)
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
