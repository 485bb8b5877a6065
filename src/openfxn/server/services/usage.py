"""Usage: what the caller's account was billed in a month, a CSV of it, and
what its authorization URL decided.

Every finished prediction has one usage record on the account it was billed
to: its own caller's, or the predictor owner's when the owner's authorization
URL approved it (``callerKind`` "authorization", with the owner's
``customer``). A record's cost is its latency priced by the acceleration
tier (``OPENFXN_PRICE_*_PER_S``).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from openfxn.server.auth.callers import Caller
from openfxn.server.errors import InvalidRequest
from openfxn.server.services.models import (
    AuthorizationDecision,
    AuthorizationDecisionsInput,
    Usage,
    UsageInput,
    UsageLine,
)
from openfxn.server.store import tables
from openfxn.server.store.database import Database
from openfxn.server.store.tables import utcnow

DECISIONS_SHOWN = 50
CSV_COLUMNS = (
    "created", "prediction", "predictor", "acceleration", "latency_ms", "cost",
    "caller_kind", "customer",
)  # fmt: skip


def month_bounds(month: str | None) -> tuple[str, datetime, datetime]:
    """``YYYY-MM`` (this month when None) and its first and next months' starts."""
    now = utcnow()
    name = month or f"{now.year:04d}-{now.month:02d}"
    try:
        start = datetime.strptime(name, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRequest(
            f"month '{name[:20]}' is not a month: write it as YYYY-MM, like 2026-12."
        ) from None
    year, index = divmod(start.month, 12)
    end = start.replace(year=start.year + year, month=index + 1)
    return name, start, end


class UsageService:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def retrieve(self, caller: Caller, request: UsageInput) -> Usage:
        """The month's totals, and the same per predictor, caller kind and customer."""
        account = caller.require_account()
        name, start, end = month_bounds(request.month)
        within = (
            tables.Usage.account_id == account.id,
            tables.Usage.created >= start,
            tables.Usage.created < end,
        )
        total = (await self.lines(None, within))[0]
        return Usage(
            month=name,
            predictions=total.predictions,
            latency=total.latency,
            cost=total.cost,
            predictors=await self.lines(tables.Usage.predictor_tag, within),
            caller_kinds=await self.lines(tables.Usage.caller_kind, within),
            customers=await self.lines(tables.Usage.customer, within),
        )

    async def lines(
        self, key: Any, within: tuple[ColumnElement[bool], ...]
    ) -> list[UsageLine]:
        """Sums over the records ``within`` holds, one line per value of ``key``
        (a column), or one line in all when ``key`` is None."""
        sums = (
            func.count(tables.Usage.id),
            func.coalesce(func.sum(tables.Usage.latency), 0.0),
            func.coalesce(func.sum(tables.Usage.cost), 0.0),
        )
        keys = () if key is None else (key,)
        query: Select[Any] = select(*keys, *sums).where(*within)
        if key is not None:
            query = query.group_by(key).order_by(key)
        async with self.database.read() as session:
            rows = (await session.execute(query)).all()
        return [
            UsageLine(
                key=None if key is None else row[0],
                predictions=row[-3],
                latency=row[-2],
                cost=row[-1],
            )
            for row in rows
        ]

    async def decisions(
        self, caller: Caller, request: AuthorizationDecisionsInput
    ) -> list[AuthorizationDecision]:
        """The latest decisions of the caller's authorization URL, newest first."""
        account = caller.require_account()
        query = (
            select(tables.AuthorizationDecision)
            .where(tables.AuthorizationDecision.owner_id == account.id)
            .order_by(tables.AuthorizationDecision.id.desc())
            .limit(request.count or DECISIONS_SHOWN)
        )
        async with self.database.read() as session:
            rows = (await session.scalars(query)).all()
        return [
            AuthorizationDecision(
                created=row.created,
                tag=row.tag,
                outcome=row.outcome,
                customer=row.customer,
                detail=row.detail,
            )
            for row in rows
        ]

    async def export_csv(self, caller: Caller, request: UsageInput) -> str:
        """Every usage record of the month, one CSV row each, oldest first."""
        account = caller.require_account()
        _name, start, end = month_bounds(request.month)
        query = (
            select(tables.Usage)
            .where(
                tables.Usage.account_id == account.id,
                tables.Usage.created >= start,
                tables.Usage.created < end,
            )
            .order_by(tables.Usage.created, tables.Usage.id)
        )
        async with self.database.read() as session:
            records = (await session.scalars(query)).all()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for record in records:
            writer.writerow(
                (
                    record.created.isoformat(), record.prediction_id,
                    record.predictor_tag, record.acceleration,
                    f"{record.latency:.3f}", f"{record.cost:.8f}",
                    record.caller_kind, record.customer or "",
                )
            )  # fmt: skip
        return out.getvalue()
