"""The ``access_keys`` service: the caller's keys."""

from __future__ import annotations

from datetime import datetime

from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.models import AccessKey, NewAccessKey
from openfxn._client.sansio.access_keys import AccessKeyPlans


class AccessKeys:
    """Create, list and revoke the caller's access keys."""

    def __init__(self, driver: SyncDriver, plans: AccessKeyPlans) -> None:
        self._run = driver.run
        self._plans = plans

    def create(self, name: str, *, expires: datetime | None = None) -> NewAccessKey:
        """Create an access key.

        Args:
            name: What the key is for, to tell it apart in lists.
            expires: When it stops working (timezone-aware); never when None.

        Returns:
            The key's record and, in ``key``, the key itself: shown this once.
        """
        return self._run(self._plans.create(name, expires))

    def list(self) -> list[AccessKey]:
        """The caller's active keys, each with a hint of the key, never the key."""
        return self._run(self._plans.list())

    def revoke(self, id: str) -> AccessKey:
        """Revoke a key by its ``id``; it stops working at once.

        Raises:
            NotFoundError: The caller has no active key with that id.
        """
        return self._run(self._plans.revoke(id))


class AsyncAccessKeys:
    """Create, list and revoke the caller's access keys (async; see
    :class:`AccessKeys`)."""

    def __init__(self, driver: AsyncDriver, plans: AccessKeyPlans) -> None:
        self._run = driver.run
        self._plans = plans

    async def create(
        self, name: str, *, expires: datetime | None = None
    ) -> NewAccessKey:
        """Create an access key; its ``key`` is shown this once."""
        return await self._run(self._plans.create(name, expires))

    async def list(self) -> list[AccessKey]:
        """The caller's active keys, without their secrets."""
        return await self._run(self._plans.list())

    async def revoke(self, id: str) -> AccessKey:
        """Revoke a key by its ``id``; it stops working at once."""
        return await self._run(self._plans.revoke(id))
