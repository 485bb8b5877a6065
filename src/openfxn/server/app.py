"""The ASGI application: transports, health and metrics over shared services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from openfxn import __version__
from openfxn.server.auth.cache import KeyCache
from openfxn.server.auth.callers import CallerResolver
from openfxn.server.middleware import BodyLimitMiddleware, Metrics, RequestMiddleware
from openfxn.server.runtime.launch import reap_leftovers
from openfxn.server.runtime.provisioning import Provisioner
from openfxn.server.runtime.sandboxes import create_sandbox
from openfxn.server.runtime.workers import Workers
from openfxn.server.secrets import load_key_ring
from openfxn.server.services import Services, limits
from openfxn.server.services.uploads import PREFIX, upload_limits
from openfxn.server.settings import Settings
from openfxn.server.storage.objects import LocalStorage
from openfxn.server.store.database import Database
from openfxn.server.transports.errors import EXCEPTION_HANDLERS
from openfxn.server.transports.fast import FastPredictions
from openfxn.server.transports.files import add_file_routes
from openfxn.server.transports.graphql.endpoint import GraphQLEndpoint
from openfxn.server.transports.rest import add_routes

logger = logging.getLogger("openfxn.server")

DESCRIPTION = """\
The openfxn REST API. Every operation here also exists in the GraphQL API at
`/graph` (and `/graphql`), with the same data.

Authenticate with `Authorization: Bearer KEY`, or Basic auth with the key as the
username and an empty password (`curl -u KEY:`). Every error reply is JSON:
`{"error": "...", "errors": [{"message": "..."}]}`.
"""


class Application(FastAPI):
    """FastAPI, with plain predictions answered in front of its middleware
    (see ``transports/fast.py``)."""

    fast: FastPredictions | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await self.fast(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    """The server application; the database must already be migrated.

    Raises SandboxUnavailable when the settings require a sandbox that this
    machine cannot give.
    """
    sandbox = create_sandbox(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings)
        ring = load_key_ring(settings)
        storage = LocalStorage(settings.data / "objects")
        provisioner = Provisioner(database, storage, ring, settings, sandbox)
        keys = KeyCache()
        app.state.database = database
        app.state.provisioner = provisioner
        runtime = Workers(sandbox, settings.data / "workers", limits(settings))
        app.state.services = services = Services.create(
            settings, database, keys, ring, provisioner.schedule, storage, runtime
        )
        app.state.callers = CallerResolver(database, keys)
        logger.info("database %s", redact_url(database.url))
        logger.info("data directory %s", settings.data)
        if settings.allow_loopback_authorization:
            logger.warning(
                "authorization URLs may point at loopback addresses "
                "(OPENFXN_ALLOW_LOOPBACK_AUTHORIZATION=true): for development only"
            )
        reaped = await asyncio.to_thread(reap_leftovers, sandbox, settings.data)
        if reaped:
            logger.warning("killed %d predictor processes left by a stop", reaped)
        await provisioner.resume()
        interrupted = await services.predictions.interrupt_unfinished()
        if interrupted:
            logger.warning("%d predictions were interrupted by a stop", interrupted)
        try:
            yield
        finally:
            await runtime.stop()
            await provisioner.stop()
            await services.predictions.authorizer.aclose()
            if sandbox.cgroups is not None:
                sandbox.cgroups.close()
            await database.dispose()

    app = Application(
        title="openfxn",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,  # an API answers where it is asked, or 404s
        exception_handlers=dict(EXCEPTION_HANDLERS),
    )
    app.state.settings = settings
    app.state.sandbox = sandbox
    add_routes(app)
    add_file_routes(app)
    graphql = GraphQLEndpoint(settings)
    for path in ("/graph", "/graphql"):
        app.add_route(path, graphql.handle, methods=["POST"], include_in_schema=False)
    app.add_route("/health", health, methods=["GET"], include_in_schema=False)
    app.add_route("/health/live", live, methods=["GET"], include_in_schema=False)
    app.add_route("/metrics", metrics, methods=["GET"], include_in_schema=False)

    app.state.metrics = Metrics()
    to_the_routes = partial(FastAPI.__call__, app)
    app.fast = FastPredictions(
        to_the_routes, settings.max_body_bytes, app.state.metrics
    )
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limits(settings))
    app.add_middleware(RequestMiddleware, metrics=app.state.metrics)
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    return app


def body_limits(settings: Settings) -> Callable[[Scope], int]:
    """Uploads have a limit per type; every other body has one limit."""
    uploads = upload_limits(settings)

    def limit_for(scope: Scope) -> int:
        path: str = scope["path"]
        if scope["method"] == "PUT" and path.startswith(PREFIX):
            kind = path.removeprefix(PREFIX).split("/")[1:2]
            return uploads.get(kind[0] if kind else "", settings.max_body_bytes)
        return settings.max_body_bytes

    return limit_for


async def health(request: Request) -> Response:
    """Liveness (the process answers) and readiness (the database answers)."""
    checks = {"database": "ok"}
    try:
        await request.app.state.database.ping()
    except Exception as error:  # any failure means "not ready", with its reason
        checks["database"] = f"unavailable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "live": True,
        "ready": ready,
        "checks": checks,
        "sandbox": request.app.state.sandbox.kind,
        "sandboxTier": request.app.state.sandbox.tier.value,
        "version": __version__,
    }
    return Response(
        orjson.dumps(body),
        status_code=200 if ready else 503,
        media_type="application/json",
    )


async def live(request: Request) -> Response:
    """Liveness alone: answers without touching the database or the caller."""
    return Response(b'{"live":true}', media_type="application/json")


async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with our 400 envelope in place of its 422 validation reply."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path in schema["paths"].values():
            for operation in path.values():
                operation["responses"].pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema


def redact_url(url: str) -> str:
    """A database URL without its password, fit for a log line."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{separator}{credentials.split(':')[0]}:***@{host}"
