"""The two clients, ``Function`` and ``AsyncFunction``: the same services over
one core, one driven with ``httpx.Client`` and one with ``httpx.AsyncClient``."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

import httpx

from openfxn._client.credentials import resolve
from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.sansio import Plans
from openfxn._client.sansio.core import DEFAULT_UPLOAD_THRESHOLD, Core
from openfxn._client.services.access_keys import AccessKeys, AsyncAccessKeys
from openfxn._client.services.environment_variables import (
    AsyncEnvironmentVariables,
    EnvironmentVariables,
)
from openfxn._client.services.predictions import AsyncPredictions, Predictions
from openfxn._client.services.predictors import AsyncPredictors, Predictors
from openfxn._client.services.storage import AsyncStorage, Storage
from openfxn._client.services.usage import AsyncUsageService, UsageService
from openfxn._client.services.users import AsyncUsers, Users

DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
"""Ten seconds to connect; two minutes for the rest, as a prediction may run long."""
DEFAULT_MAX_RETRIES = 2

HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)


class BaseClient(Generic[HttpClient]):
    """What both clients share: the key and server, the core, the HTTP client,
    and one service per field of :class:`Plans`, of the class each client
    annotates it with (``users: Users``, ``users: AsyncUsers``)."""

    _http_class: Callable[..., HttpClient]
    _driver_class: Callable[[HttpClient], SyncDriver | AsyncDriver]

    def __init__(
        self,
        access_key: str | None = None,
        api_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        upload_threshold: int = DEFAULT_UPLOAD_THRESHOLD,
        http_client: HttpClient | None = None,
    ) -> None:
        key, url = resolve(access_key, api_url)
        self._core = Core(
            key, url, max_retries=max_retries, upload_threshold=upload_threshold
        )
        self._owns_http = http_client is None
        self._http: HttpClient = http_client or self._http_class(timeout=timeout)
        self._wire(self._driver_class(self._http))

    def _wire(self, driver: SyncDriver | AsyncDriver) -> None:
        services = typing.get_type_hints(type(self))
        plans = Plans.over(self._core)
        for field in dataclasses.fields(plans):
            service = services[field.name](driver, getattr(plans, field.name))
            setattr(self, field.name, service)

    @property
    def api_url(self) -> str:
        """The server this client calls."""
        return self._core.api_url

    @property
    def has_access_key(self) -> bool:
        """Whether requests carry an access key (the key itself is not exposed)."""
        return self._core.access_key is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(api_url={self.api_url!r}, "
            f"has_access_key={self.has_access_key})"
        )


class Function(BaseClient[httpx.Client]):
    """A client of an openfxn server (or of any server of the 2023 Function API).

    Use it as a context manager, or call :meth:`close`, to release its
    connections::

        with Function() as fxn:
            prediction = fxn.predictions.create("@ada/greeting", {"name": "Peter"})

    Args:
        access_key: The access key; by default ``OPENFXN_ACCESS_KEY``, then
            ``FXN_ACCESS_KEY``, then the key the CLI stored for this server.
            Without one, the client calls anonymously.
        api_url: The server; by default ``OPENFXN_API_URL``, then
            ``FXN_API_URL``, then the server the CLI stored, then
            ``http://127.0.0.1:8000``.
        timeout: Seconds (or an ``httpx.Timeout``) before a request is given up
            with TimeoutError.
        max_retries: How many times a request is tried again after a failure
            that may pass: any request that could not connect, and reads and
            deletes that failed or got 429, 502, 503 or 504. With backoff.
        upload_threshold: Input values of this many bytes or more are uploaded
            first rather than sent inline.
        http_client: An ``httpx.Client`` to send through (for proxies, custom
            TLS or tests); its own timeout then applies, and it is not closed.
    """

    users: Users
    """The caller's account and others' profiles."""
    access_keys: AccessKeys
    """The caller's access keys."""
    predictors: Predictors
    """Create, find, wait for and remove predictors."""
    predictions: Predictions
    """Run predictors, at once or streamed."""
    environment_variables: EnvironmentVariables
    """The caller's secrets."""
    storage: Storage
    """Uploads."""
    usage: UsageService
    """What the caller's predictions cost."""

    _http_class = httpx.Client
    _driver_class = SyncDriver

    def close(self) -> None:
        """Close the client's connections (not those of an ``http_client`` given)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Function:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncFunction(BaseClient[httpx.AsyncClient]):
    """The async client: :class:`Function`'s services, each method awaited.

    ::

        async with AsyncFunction() as fxn:
            prediction = await fxn.predictions.create(
                "@ada/greeting", {"name": "Peter"}
            )

    Its arguments are :class:`Function`'s, with an ``httpx.AsyncClient`` for
    ``http_client``.
    """

    users: AsyncUsers
    access_keys: AsyncAccessKeys
    predictors: AsyncPredictors
    predictions: AsyncPredictions
    environment_variables: AsyncEnvironmentVariables
    storage: AsyncStorage
    usage: AsyncUsageService

    _http_class = httpx.AsyncClient
    _driver_class = AsyncDriver

    async def aclose(self) -> None:
        """Close the client's connections (not those of an ``http_client`` given)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncFunction:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
