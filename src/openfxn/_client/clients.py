"""The two clients, ``Function`` and ``AsyncFunction``: the same services over
one core, one driven with ``httpx.Client`` and one with ``httpx.AsyncClient``."""

from __future__ import annotations

from types import TracebackType

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


class Function:
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

    Attributes:
        users: The caller's account and others' profiles (:class:`Users`).
        access_keys: The caller's access keys.
        predictors: Create, find, wait for and remove predictors.
        predictions: Run predictors, at once or streamed.
        environment_variables: The caller's secrets.
        storage: Uploads.
        usage: What the caller's predictions cost.
    """

    def __init__(
        self,
        access_key: str | None = None,
        api_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        upload_threshold: int = DEFAULT_UPLOAD_THRESHOLD,
        http_client: httpx.Client | None = None,
    ) -> None:
        key, url = resolve(access_key, api_url)
        core = Core(
            key, url, max_retries=max_retries, upload_threshold=upload_threshold
        )
        self._core = core
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        driver = SyncDriver(self._http)
        plans = Plans.over(core)
        self.users = Users(driver, plans.users)
        self.access_keys = AccessKeys(driver, plans.access_keys)
        self.predictors = Predictors(driver, plans.predictors)
        self.predictions = Predictions(driver, plans.predictions)
        self.environment_variables = EnvironmentVariables(
            driver, plans.environment_variables
        )
        self.storage = Storage(driver, plans.storage)
        self.usage = UsageService(driver, plans.usage)

    @property
    def api_url(self) -> str:
        """The server this client calls."""
        return self._core.api_url

    @property
    def has_access_key(self) -> bool:
        """Whether requests carry an access key (the key itself is not exposed)."""
        return self._core.access_key is not None

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

    def __repr__(self) -> str:
        return (
            f"Function(api_url={self.api_url!r}, has_access_key={self.has_access_key})"
        )


class AsyncFunction:
    """The async client: :class:`Function`'s services, each method awaited.

    ::

        async with AsyncFunction() as fxn:
            prediction = await fxn.predictions.create(
                "@ada/greeting", {"name": "Peter"}
            )

    Its arguments are :class:`Function`'s, with an ``httpx.AsyncClient`` for
    ``http_client``.
    """

    def __init__(
        self,
        access_key: str | None = None,
        api_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        upload_threshold: int = DEFAULT_UPLOAD_THRESHOLD,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        key, url = resolve(access_key, api_url)
        core = Core(
            key, url, max_retries=max_retries, upload_threshold=upload_threshold
        )
        self._core = core
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        driver = AsyncDriver(self._http)
        plans = Plans.over(core)
        self.users = AsyncUsers(driver, plans.users)
        self.access_keys = AsyncAccessKeys(driver, plans.access_keys)
        self.predictors = AsyncPredictors(driver, plans.predictors)
        self.predictions = AsyncPredictions(driver, plans.predictions)
        self.environment_variables = AsyncEnvironmentVariables(
            driver, plans.environment_variables
        )
        self.storage = AsyncStorage(driver, plans.storage)
        self.usage = AsyncUsageService(driver, plans.usage)

    @property
    def api_url(self) -> str:
        """The server this client calls."""
        return self._core.api_url

    @property
    def has_access_key(self) -> bool:
        """Whether requests carry an access key (the key itself is not exposed)."""
        return self._core.access_key is not None

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

    def __repr__(self) -> str:
        return (
            f"AsyncFunction(api_url={self.api_url!r}, "
            f"has_access_key={self.has_access_key})"
        )
