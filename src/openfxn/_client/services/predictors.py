"""The ``predictors`` service: find, create, wait for, archive and delete."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.models import (
    Acceleration,
    AccessMode,
    Predictor,
    PredictorStatus,
)
from openfxn._client.progress import progress_callback
from openfxn._client.sansio.effects import ProgressCallback
from openfxn._client.sansio.predictors import PredictorPlans, Source

DEFAULT_WAIT_S = 600.0


class Predictors:
    """Predictors: Python functions named ``predict``, served by the server."""

    def __init__(self, driver: SyncDriver, plans: PredictorPlans) -> None:
        self._run = driver.run
        self._plans = plans

    def retrieve(self, tag: str) -> Predictor:
        """A predictor by its tag, ``@owner/name``.

        Raises:
            NotFoundError: No such predictor, or a private one of another user.
        """
        return self._run(self._plans.retrieve(tag))

    def list(
        self,
        owner: str | None = None,
        *,
        status: PredictorStatus | str | None = None,
        offset: int | None = None,
        count: int | None = None,
    ) -> list[Predictor]:
        """A user's predictors, newest first.

        Args:
            owner: Whose; the caller's own when None. Others see public ones only.
            status: Which; ACTIVE when None.
            offset: How many to skip, to page through them.
            count: How many at most (1 to 100).
        """
        return self._run(self._plans.list(owner, status, offset, count))

    def search(
        self,
        query: str | None = None,
        *,
        offset: int | None = None,
        count: int | None = None,
    ) -> builtins.list[Predictor]:
        """Public, active predictors whose tag or description holds ``query``."""
        return self._run(self._plans.search(query, offset, count))

    def create(
        self,
        tag: str,
        source: Source,
        *,
        access: AccessMode | str | None = None,
        description: str | None = None,
        media: Source | None = None,
        acceleration: Acceleration | str | None = None,
        environment: Mapping[str, str] | None = None,
        license: str | None = None,
        overwrite: bool | None = None,
        progress: bool | ProgressCallback = False,
    ) -> Predictor:
        """Create a predictor; it provisions in the background (see :meth:`wait`).

        Args:
            tag: ``@you/name``, under the caller's own name.
            source: The path of a ``.py`` file or ``.ipynb`` notebook that
                defines ``predict``, uploaded first; or a URL the server reads
                (an upload URL of the server, or a ``data:`` URL).
            access: PUBLIC, PRIVATE (the default) or PROTECTED.
            description: A line about it, up to 200 characters.
            media: A picture for it: a path, uploaded, or a URL.
            acceleration: The hardware to run on; CPU by default.
            environment: Secrets for this predictor alone, by name; they join
                the account's environment variables.
            license: The URL of its license.
            overwrite: Replace a predictor that has this tag already.
            progress: True for an upload progress bar on standard error, or a
                callable taking the bytes sent so far and the total.

        Returns:
            The predictor, PROVISIONING.

        Raises:
            ConversionError: The source or media file cannot be read.
            PermissionDeniedError: The tag is not under the caller's name.
            InvalidRequestError: The tag is taken (409) or an argument is wrong.
        """
        plan = self._plans.create(
            tag,
            source,
            access=access,
            description=description,
            media=media,
            acceleration=acceleration,
            environment=environment,
            license=license,
            overwrite=overwrite,
            progress=progress_callback(progress),
        )
        return self._run(plan)

    def wait(self, tag: str, *, timeout: float = DEFAULT_WAIT_S) -> Predictor:
        """Wait until a predictor has provisioned, and return it.

        Returns:
            The predictor once it is no longer PROVISIONING: ACTIVE, or INVALID
            with ``error`` saying why and ``log`` holding the provisioning log.

        Raises:
            TimeoutError: It is still PROVISIONING after ``timeout`` seconds.
        """
        return self._run(self._plans.wait(tag, timeout))

    def delete(self, tag: str) -> bool:
        """Delete one of the caller's predictors.

        Raises:
            InvalidRequestError: It is public and has served predictions (409):
                archive it instead.
        """
        return self._run(self._plans.delete(tag))

    def archive(self, tag: str) -> Predictor:
        """Archive one of the caller's predictors: hidden from lists and search."""
        return self._run(self._plans.archive(tag))


class AsyncPredictors:
    """Predictors (async; see :class:`Predictors`)."""

    def __init__(self, driver: AsyncDriver, plans: PredictorPlans) -> None:
        self._run = driver.run
        self._plans = plans

    async def retrieve(self, tag: str) -> Predictor:
        """A predictor by its tag, ``@owner/name``."""
        return await self._run(self._plans.retrieve(tag))

    async def list(
        self,
        owner: str | None = None,
        *,
        status: PredictorStatus | str | None = None,
        offset: int | None = None,
        count: int | None = None,
    ) -> builtins.list[Predictor]:
        """A user's predictors (the caller's own when ``owner`` is None)."""
        return await self._run(self._plans.list(owner, status, offset, count))

    async def search(
        self,
        query: str | None = None,
        *,
        offset: int | None = None,
        count: int | None = None,
    ) -> builtins.list[Predictor]:
        """Public, active predictors whose tag or description holds ``query``."""
        return await self._run(self._plans.search(query, offset, count))

    async def create(
        self,
        tag: str,
        source: Source,
        *,
        access: AccessMode | str | None = None,
        description: str | None = None,
        media: Source | None = None,
        acceleration: Acceleration | str | None = None,
        environment: Mapping[str, str] | None = None,
        license: str | None = None,
        overwrite: bool | None = None,
        progress: bool | ProgressCallback = False,
    ) -> Predictor:
        """Create a predictor from a file or URL; see :meth:`Predictors.create`."""
        plan = self._plans.create(
            tag,
            source,
            access=access,
            description=description,
            media=media,
            acceleration=acceleration,
            environment=environment,
            license=license,
            overwrite=overwrite,
            progress=progress_callback(progress),
        )
        return await self._run(plan)

    async def wait(
        self,
        tag: str,
        *,
        timeout: float = DEFAULT_WAIT_S,  # noqa: ASYNC109 (the sync twin's argument)
    ) -> Predictor:
        """Wait until a predictor is ACTIVE or INVALID, and return it."""
        return await self._run(self._plans.wait(tag, timeout))

    async def delete(self, tag: str) -> bool:
        """Delete one of the caller's predictors."""
        return await self._run(self._plans.delete(tag))

    async def archive(self, tag: str) -> Predictor:
        """Archive one of the caller's predictors."""
        return await self._run(self._plans.archive(tag))
