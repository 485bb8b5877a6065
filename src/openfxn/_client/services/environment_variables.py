"""The ``environment_variables`` service: the caller's secrets."""

from __future__ import annotations

from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.models import EnvironmentVariable
from openfxn._client.sansio.environment_variables import EnvironmentVariablePlans


class EnvironmentVariables:
    """Environment variables: secrets that predictors created afterwards get
    in ``os.environ``. Values are write-only: only names are ever returned."""

    def __init__(self, driver: SyncDriver, plans: EnvironmentVariablePlans) -> None:
        self._run = driver.run
        self._plans = plans

    def list(self) -> list[EnvironmentVariable]:
        """The names of the caller's environment variables."""
        return self._run(self._plans.list())

    def create(self, name: str, value: str) -> EnvironmentVariable:
        """Set an environment variable, replacing one of the same name.

        Args:
            name: Letters, digits and ``_``, not starting with a digit.
            value: The secret; it is stored encrypted and never shown again.
        """
        return self._run(self._plans.create(name, value))

    def delete(self, name: str) -> bool:
        """Delete an environment variable; predictors created before keep theirs.

        Raises:
            NotFoundError: There is no variable by that name.
        """
        return self._run(self._plans.delete(name))


class AsyncEnvironmentVariables:
    """Environment variables (async; see :class:`EnvironmentVariables`)."""

    def __init__(self, driver: AsyncDriver, plans: EnvironmentVariablePlans) -> None:
        self._run = driver.run
        self._plans = plans

    async def list(self) -> list[EnvironmentVariable]:
        """The names of the caller's environment variables."""
        return await self._run(self._plans.list())

    async def create(self, name: str, value: str) -> EnvironmentVariable:
        """Set an environment variable; its value is write-only."""
        return await self._run(self._plans.create(name, value))

    async def delete(self, name: str) -> bool:
        """Delete an environment variable."""
        return await self._run(self._plans.delete(name))
