"""Apply the Alembic migrations that ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from openfxn.server.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config interpolates '%'; URLs may hold escaped passwords.
    url = settings.resolved_database_url.replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Migrate the database to ``revision``; blocking, so call it outside a loop."""
    if settings.database_url is None:
        settings.data.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)
