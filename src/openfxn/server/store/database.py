"""The database handle: one async engine, and read and write transactions.

SQLite needs care to be a safe default under concurrent requests: WAL mode, a
busy timeout, and ``BEGIN IMMEDIATE`` for every transaction that writes, since
a deferred transaction that upgrades to a write fails at once with "database
is locked" whatever the timeout.

SQLite also takes one writer at a time, and one that finds the lock taken
sleeps in its busy handler, 1 to 100 ms a try, however soon the lock frees.
So the server's own writers take turns on an asyncio lock first, and wake as
soon as the one before them commits; the busy timeout still covers writers in
other processes, such as ``openfxn admin``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from openfxn.server.settings import Settings
from openfxn.server.store.ledger import Ledger, sqlite_engine

WRITE_OPTION = "openfxn_write"


class Database:
    """The engine and a session factory, with read and write transactions."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.resolved_database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL locks rows, not the database: its writers need no turns.
        self.writing: AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if self.is_sqlite else nullcontext()
        )
        self.ledger = Ledger(self.engine, create_ledger_engine(settings))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; it never commits."""
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction takes the write lock up front and commits."""
        async with self.writing, self.sessions() as session, session.begin():
            await session.connection(execution_options={WRITE_OPTION: True})
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await asyncio.to_thread(self.ledger.close)
        await self.engine.dispose()


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_pre_ping=True)

    settings.data.mkdir(parents=True, exist_ok=True)
    # Each aiosqlite connection owns a thread; a pool keeps them warm. NullPool
    # serves in-memory databases, which must not be shared across threads.
    memory = ":memory:" in url
    engine = create_async_engine(url, poolclass=NullPool if memory else None)
    configure_sqlite(engine.sync_engine, settings)
    return engine


def create_ledger_engine(settings: Settings) -> Engine | None:
    """The ledger's own engine on a SQLite file; None elsewhere (see ledger.py)."""
    url = settings.resolved_database_url
    if not url.startswith("sqlite") or ":memory:" in url:
        return None
    engine = sqlite_engine(url)
    configure_sqlite(engine, settings)
    return engine


def configure_sqlite(engine: Engine, settings: Settings) -> None:
    synchronous = settings.sqlite_synchronous.value.upper()
    busy_timeout = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # Take transaction control from the driver, so "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        is_write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if is_write else "BEGIN")
