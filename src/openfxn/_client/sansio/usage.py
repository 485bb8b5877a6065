"""Plans for usage: a month's sums, its CSV export, authorization decisions."""

from __future__ import annotations

from datetime import date

from openfxn._client.models import AuthorizationDecision, Usage
from openfxn._client.sansio.core import Core, parse, parse_list
from openfxn._client.sansio.effects import Plan

Month = str | date
"""``YYYY-MM``, or a date (or datetime) in the month."""


def month_text(month: Month | None) -> str | None:
    if isinstance(month, date):
        return month.strftime("%Y-%m")
    return month


class UsagePlans:
    def __init__(self, core: Core) -> None:
        self.core = core

    def retrieve(self, month: Month | None) -> Plan[Usage]:
        params = {"month": month_text(month)}
        reply = yield from self.core.call("GET", "/usage", params=params)
        return parse(Usage, reply)

    def export_csv(self, month: Month | None) -> Plan[str]:
        params = {"month": month_text(month)}
        request = self.core.request(
            "GET", "/usage.csv", params=params, accept="text/csv"
        )
        response = yield from self.core.send(request)
        return response.content.decode("utf-8")

    def authorization_decisions(
        self, count: int | None
    ) -> Plan[list[AuthorizationDecision]]:
        path = "/user/authorizationDecisions"
        reply = yield from self.core.call("GET", path, params={"count": count})
        return parse_list(AuthorizationDecision, reply)
