"""Environment variables: an account's secrets, and the copies its predictors get.

Values are write-only: sealed with the server's key ring (see ``secrets.py``)
and bound to their account, scope and name, they are opened only to hand them
to a predictor's sandbox. A predictor gets the account's variables as they were
when it was created, plus its own, copied into its own scope.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openfxn.server.auth.callers import Caller
from openfxn.server.errors import NotFound
from openfxn.server.secrets import KeyRing
from openfxn.server.services.models import (
    CreateEnvironmentVariableInput,
    DeleteEnvironmentVariableInput,
    EnvironmentVariable,
)
from openfxn.server.store.database import Database
from openfxn.server.store.tables import EnvironmentVariable as Row

ACCOUNT_SCOPE = "account"


def predictor_scope(predictor_id: int) -> str:
    return f"predictor:{predictor_id}"


def context(account_id: int, scope: str, name: str) -> str:
    """The associated data a value is sealed with: where it belongs."""
    return f"{account_id}|{scope}|{name}"


def refuse_organization(organization: str | None) -> None:
    if organization is not None:
        raise NotFound(
            f"There is no organization named '{organization[:60]}': this server has "
            "user accounts only. Leave organization out."
        )


class EnvironmentVariableService:
    def __init__(self, database: Database, keys: KeyRing) -> None:
        self.database = database
        self.keys = keys

    async def list(
        self, caller: Caller, organization: str | None = None
    ) -> list[EnvironmentVariable]:
        account = caller.require_account()
        refuse_organization(organization)
        async with self.database.read() as session:
            names = await session.scalars(
                select(Row.name)
                .where(Row.account_id == account.id, Row.scope == ACCOUNT_SCOPE)
                .order_by(Row.name)
            )
            return [EnvironmentVariable(name=name) for name in names]

    async def create(
        self, caller: Caller, request: CreateEnvironmentVariableInput
    ) -> EnvironmentVariable:
        """Set an account variable, replacing any value it had."""
        account = caller.require_account()
        refuse_organization(request.organization)
        async with self.database.write() as session:
            await self.store(
                session, account.id, ACCOUNT_SCOPE, request.name, request.value
            )
        return EnvironmentVariable(name=request.name)

    async def delete(
        self, caller: Caller, request: DeleteEnvironmentVariableInput
    ) -> bool:
        account = caller.require_account()
        refuse_organization(request.organization)
        async with self.database.write() as session:
            deleted = await session.execute(
                delete(Row).where(
                    Row.account_id == account.id,
                    Row.scope == ACCOUNT_SCOPE,
                    Row.name == request.name,
                )
            )
        if not deleted.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"You have no environment variable named '{request.name}'.")
        return True

    async def store(
        self, session: AsyncSession, account_id: int, scope: str, name: str, value: str
    ) -> None:
        await session.execute(
            delete(Row).where(
                Row.account_id == account_id, Row.scope == scope, Row.name == name
            )
        )
        sealed = self.keys.seal(value, context(account_id, scope, name))
        session.add(Row(account_id=account_id, scope=scope, name=name, sealed=sealed))
        await session.flush()

    async def copy_to_predictor(
        self,
        session: AsyncSession,
        account_id: int,
        predictor_id: int,
        own: dict[str, str],
    ) -> None:
        """Give a new predictor the account's variables as they are now, and its own."""
        values = await self.values(session, account_id, ACCOUNT_SCOPE)
        scope = predictor_scope(predictor_id)
        for name, value in {**values, **own}.items():
            await self.store(session, account_id, scope, name, value)

    async def values(
        self, session: AsyncSession, account_id: int, scope: str
    ) -> dict[str, str]:
        """The opened values of one scope: only for handing them to a sandbox."""
        rows = await session.scalars(
            select(Row).where(Row.account_id == account_id, Row.scope == scope)
        )
        return {
            row.name: self.keys.open(row.sealed, context(account_id, scope, row.name))
            for row in rows
        }

    async def reseal(self) -> int:
        """Seal again, under the current key, every value sealed under an older
        one; returns how many. After it the older keys can be retired."""
        resealed = 0
        async with self.database.write() as session:
            for row in await session.scalars(select(Row)):
                if self.keys.is_current(row.sealed):
                    continue
                where = context(row.account_id, row.scope, row.name)
                row.sealed = self.keys.seal(self.keys.open(row.sealed, where), where)
                resealed += 1
        return resealed

    async def drop_predictor(self, session: AsyncSession, predictor_id: int) -> None:
        await session.execute(
            delete(Row).where(Row.scope == predictor_scope(predictor_id))
        )
