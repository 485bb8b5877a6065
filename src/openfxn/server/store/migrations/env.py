"""Alembic environment: runs migrations on the async engine of the settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from openfxn.server.settings import Settings
from openfxn.server.store.database import create_engine
from openfxn.server.store.tables import Base


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
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
