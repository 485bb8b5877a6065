"""Alembic environment: runs migrations on the async engine of the settings."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from openfxn.server.settings import Settings
from openfxn.server.store.database import create_engine
from openfxn.server.store.tables import Base, UTCDateTime


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Write UTCDateTime as a plain DateTime: the zone handling lives in Python."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    settings = context.config.attributes.get("settings")
    if settings is None:  # the alembic CLI, for writing new revisions
        settings = Settings(
            database_url=context.config.get_main_option("sqlalchemy.url")
        )
    asyncio.run(run_online(settings))


main()
