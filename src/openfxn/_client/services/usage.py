"""The ``usage`` service: what the caller's predictions cost, and who asked."""

from __future__ import annotations

from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.models import AuthorizationDecision, Usage
from openfxn._client.sansio.usage import Month, UsagePlans


class UsageService:
    """A month's usage, its records as CSV, and the authorization decisions."""

    def __init__(self, driver: SyncDriver, plans: UsagePlans) -> None:
        self._run = driver.run
        self._plans = plans

    def retrieve(self, month: Month | None = None) -> Usage:
        """A month of usage: predictions, latency and cost, in total and per
        predictor, caller kind (``key`` or ``authorization``) and customer.

        Args:
            month: ``"YYYY-MM"``, or a date in the month; this month when None.
        """
        return self._run(self._plans.retrieve(month))

    def export_csv(self, month: Month | None = None) -> str:
        """Every usage record of a month, as CSV text with a header line."""
        return self._run(self._plans.export_csv(month))

    def authorization_decisions(
        self, count: int | None = None
    ) -> list[AuthorizationDecision]:
        """The latest decisions of the caller's authorization URL, newest first.

        Args:
            count: How many (1 to 100); the server's default when None.
        """
        return self._run(self._plans.authorization_decisions(count))


class AsyncUsageService:
    """Usage (async; see :class:`UsageService`)."""

    def __init__(self, driver: AsyncDriver, plans: UsagePlans) -> None:
        self._run = driver.run
        self._plans = plans

    async def retrieve(self, month: Month | None = None) -> Usage:
        """A month of usage; this month when ``month`` is None."""
        return await self._run(self._plans.retrieve(month))

    async def export_csv(self, month: Month | None = None) -> str:
        """Every usage record of a month, as CSV text."""
        return await self._run(self._plans.export_csv(month))

    async def authorization_decisions(
        self, count: int | None = None
    ) -> list[AuthorizationDecision]:
        """The latest decisions of the caller's authorization URL, newest first."""
        return await self._run(self._plans.authorization_decisions(count))
