"""Group commit: the writes of many requests in one transaction.

Each prediction writes twice (stored RUNNING, then ended and billed), and on
SQLite each write through the async driver costs a dozen hops between the
event loop and the driver's thread. The ledger instead gathers the writes
asked for in one turn of the event loop and hands them, together, to one
thread of its own, which takes all the writes waiting at that moment, runs
them in one ``BEGIN IMMEDIATE`` transaction on a plain connection, and
commits once. A write's caller resumes only after that commit, so nothing is
acknowledged before it is durable; under load the commit is shared.

A write that fails is not allowed to fail its neighbours: the batch is rolled
back and each write runs again alone, so each caller gets its own result or
its own exception.

PostgreSQL needs none of this (its writers do not queue on one lock), so
there each write runs in a transaction of its own on the async engine.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

logger = logging.getLogger("openfxn.server")

T = TypeVar("T")
Write = Callable[[Connection], T]

# Enough to share a commit among every request a loaded server holds, while
# keeping one transaction short.
MAX_BATCH = 256


@dataclass
class Pending(Generic[T]):
    write: Write[T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    outcome: tuple[bool, Any] = field(default=(False, None))


class Ledger:
    """Runs writes in shared transactions, on SQLite in a thread of its own."""

    def __init__(self, engine: AsyncEngine, sync_engine: Engine | None) -> None:
        self.engine = engine
        self.sync_engine = sync_engine
        self.queue: queue.SimpleQueue[list[Pending[Any]] | None] = queue.SimpleQueue()
        # Writes asked for in the current turn of each event loop.
        self.outboxes: dict[asyncio.AbstractEventLoop, list[Pending[Any]]] = {}
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    async def write(self, write: Write[T]) -> T:
        """Run ``write`` in a transaction; return once it is committed."""
        if self.sync_engine is None:
            async with self.engine.begin() as connection:
                return await connection.run_sync(write)
        self.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        outbox = self.outboxes.setdefault(loop, [])
        if not outbox:  # the first write of this turn of the loop
            loop.call_soon(self.flush, loop)
        outbox.append(Pending(write, loop, future))
        return await future

    def flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the thread every write of one turn of the loop at once."""
        self.queue.put(self.outboxes.pop(loop))

    def start(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self.run, name="openfxn-ledger", daemon=True
                )
                self.thread.start()

    def close(self) -> None:
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is not None:
            self.queue.put(None)
            thread.join()
        if self.sync_engine is not None:
            self.sync_engine.dispose()

    def run(self) -> None:
        assert self.sync_engine is not None
        with self.sync_engine.connect() as connection:
            while (batch := self.take()) is not None:
                self.commit(connection, batch)
                settle(batch)

    def take(self) -> list[Pending[Any]] | None:
        """The writes waiting now (at least one), or None when closing."""
        first = self.queue.get()
        if first is None:
            return None
        batch = first
        while len(batch) < MAX_BATCH:
            try:
                following = self.queue.get_nowait()
            except queue.Empty:
                break
            if following is None:
                self.queue.put(None)  # close after this batch
                break
            batch += following
        return batch

    def commit(self, connection: Connection, batch: list[Pending[Any]]) -> None:
        try:
            with connection.begin():
                for pending in batch:
                    pending.outcome = (True, pending.write(connection))
        except Exception as error:
            if len(batch) == 1:
                batch[0].outcome = (False, error)
                return
            for pending in batch:  # one failed: find it, keep the others
                self.commit(connection, [pending])


def settle(batch: list[Pending[Any]]) -> None:
    """Hand each outcome to its caller's loop, one wake-up per loop."""
    loops: dict[asyncio.AbstractEventLoop, list[Pending[Any]]] = {}
    for pending in batch:
        loops.setdefault(pending.loop, []).append(pending)
    for loop, settled in loops.items():
        try:
            loop.call_soon_threadsafe(resolve, settled)
        except RuntimeError:  # that loop is closed: nobody waits any more
            logger.warning("a write finished after its event loop closed")


def resolve(batch: list[Pending[Any]]) -> None:
    for pending in batch:
        if pending.future.done():  # its caller was cancelled
            continue
        is_done, value = pending.outcome
        if is_done:
            pending.future.set_result(value)
        else:
            pending.future.set_exception(value)


def sqlite_engine(url: str) -> Engine:
    """A plain engine on the same SQLite file, for the ledger's one thread."""
    sync_url = url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1)
    return create_engine(
        sync_url,
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )
