"""Server-side commands: ``serve``, ``admin`` and ``schema``.

They need the ``openfxn[server]`` extra; without it they say how to install it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from openfxn.server.services import Services
    from openfxn.server.services.models import CreatePredictorInput
    from openfxn.server.settings import Settings

admin = typer.Typer(help="Manage accounts and keys directly in the server's database.")
schema = typer.Typer(help="Print the schemas this server publishes.")

DATA_OPTION = typer.Option(
    None,
    "--data",
    help="Data directory (default: OPENFXN_DATA or ~/.local/share/openfxn).",
)
DATABASE_OPTION = typer.Option(
    None,
    "--database-url",
    help="Database URL (default: OPENFXN_DATABASE_URL, or SQLite in the data dir).",
)


def register(app: typer.Typer) -> None:
    app.command(epilog=settings_table(), rich_help_panel="Server")(serve)
    app.add_typer(admin, name="admin", rich_help_panel="Server")
    app.add_typer(schema, name="schema", rich_help_panel="Server")


def load_settings(**overrides: Any) -> Settings:
    try:
        from openfxn.server.settings import Settings
    except ImportError as error:
        raise SystemExit(
            f"The server is not installed ({error.name} is missing). "
            'Install it with: pip install "openfxn[server]"'
        ) from None
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        from openfxn.server.services.models import describe_validation_error

        message = describe_validation_error(error.errors())
        raise SystemExit(f"Invalid settings. {message}") from None


def settings_table() -> str:
    """Every setting and its variable, for ``serve --help``."""
    try:
        from openfxn.server.settings import Settings
    except ImportError:
        return 'Install the server with: pip install "openfxn[server]"'
    lines = ["Every setting can also be given as an environment variable:\n\n"]
    for variable, description, default in Settings.describe():
        lines.append(f"* `{variable}`: {description} (default: {default})\n")
    return "".join(lines)


def serve(
    host: str = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default 8000)."),
    data: Path = DATA_OPTION,
    database_url: str = DATABASE_OPTION,
    log_format: str = typer.Option(None, help="Log format: text or json."),
    log_level: str = typer.Option(None, help="Lowest level logged (default info)."),
    demo: bool = typer.Option(
        False, help="Create a demo account and print a key for it before serving."
    ),
) -> None:
    """Apply database migrations, then serve the REST and GraphQL APIs.

    Example: `openfxn serve --port 8000 --data ./data`
    """
    settings = load_settings(
        host=host,
        port=port,
        data=data,
        database_url=database_url,
        log_format=log_format,
        log_level=log_level,
    )
    import uvicorn

    from openfxn.server.app import create_app
    from openfxn.server.logs import configure_logging
    from openfxn.server.runtime.sandboxes import SandboxUnavailable
    from openfxn.server.store.migrate import upgrade

    configure_logging(settings.log_format, settings.log_level)
    try:
        app = create_app(settings)
    except SandboxUnavailable as error:
        raise SystemExit(str(error)) from None
    upgrade(settings)
    if demo:
        key = asyncio.run(ensure_demo_account(settings))
        url = f"http://{settings.host}:{settings.port}"
        typer.echo(f"Demo account 'demo', access key:\n{key}\n\nTry either:\n")
        typer.echo(f'  curl {url}/user -H "Authorization: Bearer {key}"')
        typer.echo(f"  curl {url}/user -u {key}:\n")
        typer.echo(f"Sample predictors: {', '.join(demo_tags())}. See one with:\n")
        typer.echo(f"  curl {url}/predictors/{demo_tags()[0]} -u {key}:\n")
        typer.echo(
            "@samplefxn/greeting approves any key through its owner's "
            "authorization URL:\n"
        )
        typer.echo(
            f"  curl -X POST {url}/predict/@samplefxn/greeting "
            '-H "Authorization: Bearer anything" '
            """-H "Content-Type: application/json" -d '{"name": "Rhea"}'\n"""
        )
    # What the imports and the app made lives as long as the server: keep it
    # out of the collector's passes, which otherwise walk it again and again
    # under load (greeting p99 at 64 connections 95-126 ms before, 77-78 after).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@admin.command("create-user")
def create_user(
    username: str = typer.Argument(..., help="Lowercase letters, digits and hyphens."),
    email: str = typer.Option(None, help="The user's email address."),
    name: str = typer.Option(None, help="The user's display name."),
    data: Path = DATA_OPTION,
    database_url: str = DATABASE_OPTION,
) -> None:
    """Create a user and an access key for it; the key is the last line printed.

    Example: `openfxn admin create-user ada --email ada@example.com`
    """
    settings = load_settings(data=data, database_url=database_url)
    key = asyncio.run(add_user(settings, username, email, name))
    typer.echo(f"Created user '{username}'. Its access key, shown only once:", err=True)
    typer.echo(key)


@admin.command("create-key")
def create_key(
    username: str = typer.Argument(..., help="The user to issue the key for."),
    name: str = typer.Option("cli", help="What the key is for."),
    data: Path = DATA_OPTION,
    database_url: str = DATABASE_OPTION,
) -> None:
    """Issue another access key for a user; the key is the last line printed.

    Example: `openfxn admin create-key ada --name laptop`
    """
    settings = load_settings(data=data, database_url=database_url)
    key = asyncio.run(add_key(settings, username, name))
    typer.echo(f"New access key for '{username}', shown only once:", err=True)
    typer.echo(key)


@admin.command("rotate-secrets")
def rotate_secrets(
    data: Path = DATA_OPTION, database_url: str = DATABASE_OPTION
) -> None:
    """Seal every secret again under the current OPENFXN_SECRET_KEY.

    Rotate in three steps: move the old key into OPENFXN_OLD_SECRET_KEYS and set
    a new OPENFXN_SECRET_KEY; run this; then drop the old key.

    Example: `openfxn admin rotate-secrets --data ./data`
    """
    settings = load_settings(data=data, database_url=database_url)
    count = asyncio.run(reseal(settings))
    typer.echo(f"Sealed {count} secrets again under the current key.")


async def reseal(settings: Settings) -> int:
    from openfxn.server.secrets import SecretError

    async with open_services(settings) as services:
        try:
            return await services.environment_variables.reseal()
        except SecretError as error:
            raise SystemExit(
                f"A secret cannot be opened ({error}); nothing was changed. Put "
                "the key it was sealed with in OPENFXN_OLD_SECRET_KEYS and run "
                "this again."
            ) from None


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """The services on a migrated database; a refusal ends the command in one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from openfxn.server.app import redact_url
    from openfxn.server.auth.cache import KeyCache
    from openfxn.server.errors import ServiceError
    from openfxn.server.secrets import load_key_ring
    from openfxn.server.services import Services
    from openfxn.server.store.database import Database
    from openfxn.server.store.migrate import upgrade

    database = Database(settings)
    try:
        await asyncio.to_thread(upgrade, settings)
        yield Services.create(settings, database, KeyCache(), load_key_ring(settings))
    except ServiceError as error:
        raise SystemExit(error.message) from None
    except (OSError, SQLAlchemyError) as error:
        raise SystemExit(
            f"Cannot use the database at {redact_url(database.url)}: "
            f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        ) from None
    finally:
        await database.dispose()


async def add_user(
    settings: Settings, username: str, email: str | None, name: str | None
) -> str:
    async with open_services(settings) as services:
        try:
            await services.users.create(username, email=email, name=name)
        except ValueError as error:
            raise SystemExit(f"Invalid username. {error}") from None
        return (await services.access_keys.issue_for(username, "admin")).key


async def add_key(settings: Settings, username: str, name: str) -> str:
    async with open_services(settings) as services:
        return (await services.access_keys.issue_for(username, name)).key


DEMO_PREDICTORS = {
    "greeting": ("greeting.py", "Say hello to someone by name."),
    "text-stats": ("text_stats.ipynb", "Count the words of a text."),
}


def demo_tags() -> list[str]:
    return [f"@demo/{name}" for name in DEMO_PREDICTORS]


async def ensure_demo_account(settings: Settings) -> str:
    """The demo account, a new key for it, and its sample predictors; the
    server provisions the predictors when it starts."""
    from openfxn.server.auth.cache import KeyCache
    from openfxn.server.auth.callers import CallerResolver
    from openfxn.server.errors import Conflict

    async with open_services(settings) as services:
        with contextlib.suppress(Conflict):  # the account survives restarts
            await services.users.create("demo", name="Demo", email="demo@example.com")
        key = (await services.access_keys.issue_for("demo", "demo")).key
        resolver = CallerResolver(services.users.database, KeyCache())
        caller = await resolver.resolve(f"Bearer {key}")
        for name, (filename, description) in DEMO_PREDICTORS.items():
            with contextlib.suppress(Conflict):  # published by an earlier start
                await services.predictors.create(
                    caller, sample_input("demo", name, filename, description), ""
                )
        await ensure_samplefxn(services)
        return key


async def ensure_samplefxn(services: Services) -> None:
    """``@samplefxn``, whose authorization URL approves everyone, and its
    greeting: a first prediction works with any key, as in the 2023 docs."""
    from sqlalchemy import select

    from openfxn.server.auth.authorizations import APPROVE_EVERYONE
    from openfxn.server.auth.callers import Caller
    from openfxn.server.errors import Conflict
    from openfxn.server.store.tables import Account

    with contextlib.suppress(Conflict):
        await services.users.create("samplefxn", name="Function samples")
    database = services.users.database
    async with database.write() as session:
        account = await session.scalar(
            select(Account).where(Account.username == "samplefxn")
        )
        assert account is not None
        account.authorization_url = APPROVE_EVERYONE
    sample = sample_input(
        "samplefxn", "greeting", "samplefxn_greeting.py", "Greet someone by name."
    )
    with contextlib.suppress(Conflict):
        await services.predictors.create(Caller(account=account), sample, "")


def sample_input(
    owner: str, name: str, filename: str, description: str
) -> CreatePredictorInput:
    from importlib.resources import files

    from openfxn.server.services.models import AccessMode, CreatePredictorInput

    data = (files("openfxn.server.samples") / filename).read_bytes()
    payload = base64.b64encode(data).decode()
    return CreatePredictorInput(
        tag=f"@{owner}/{name}",
        notebook=f"data:text/plain;name={filename};base64,{payload}",
        access=AccessMode.PUBLIC,
        description=description,
    )


@schema.command("graphql")
def print_graphql() -> None:
    """Print the GraphQL schema (SDL)."""
    load_settings()
    from openfxn.server.transports.graphql.schema import sdl

    typer.echo(sdl(), nl=False)


@schema.command("openapi")
def print_openapi() -> None:
    """Print the OpenAPI document of the REST API (JSON)."""
    settings = load_settings()
    from openfxn.server.app import create_app

    typer.echo(json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True))
