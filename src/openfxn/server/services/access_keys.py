"""Access keys: create, list and revoke the caller's keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from openfxn.server.auth import keys
from openfxn.server.auth.cache import KeyCache
from openfxn.server.auth.callers import Caller
from openfxn.server.errors import InvalidRequest, NotFound
from openfxn.server.services.models import (
    AccessKey,
    CreateAccessKeyInput,
    NewAccessKey,
    RevokeAccessKeyInput,
)
from openfxn.server.store import tables
from openfxn.server.store.database import Database
from openfxn.server.store.tables import Account, utcnow


def to_access_key(row: tables.AccessKey) -> AccessKey:
    return AccessKey(
        id=row.id,
        name=row.name,
        hint=row.hint,
        created=row.created,
        last_used=row.last_used,
        expires=row.expires,
    )


class AccessKeyService:
    def __init__(self, database: Database, keys: KeyCache) -> None:
        self.database = database
        self.keys = keys

    async def list(self, caller: Caller) -> list[AccessKey]:
        account = caller.require_account()
        async with self.database.read() as session:
            rows = await session.scalars(
                select(tables.AccessKey)
                .where(
                    tables.AccessKey.account_id == account.id,
                    tables.AccessKey.revoked.is_(None),
                )
                .order_by(tables.AccessKey.created, tables.AccessKey.id)
            )
            return [to_access_key(row) for row in rows]

    async def create(
        self, caller: Caller, request: CreateAccessKeyInput
    ) -> NewAccessKey:
        account = caller.require_account()
        if request.expires is not None:
            if request.expires.tzinfo is None:
                raise InvalidRequest(
                    "Invalid input. expires: give a time zone, like "
                    "'2027-01-31T00:00:00Z'."
                )
            if request.expires <= utcnow():
                raise InvalidRequest(
                    "Invalid input. expires: must be in the future; leave it out for "
                    "a key that does not expire."
                )
        return await self.issue(account.id, request.name, request.expires)

    async def issue(
        self, account_id: int, name: str, expires: datetime | None = None
    ) -> NewAccessKey:
        plaintext = keys.generate_key()
        row = tables.AccessKey(
            id=keys.new_key_id(),
            account_id=account_id,
            name=name,
            digest=keys.digest(plaintext),
            hint=keys.hint(plaintext),
            expires=expires,
        )
        async with self.database.write() as session:
            session.add(row)
        return NewAccessKey(access_key=to_access_key(row), key=plaintext)

    async def issue_for(self, username: str, name: str) -> NewAccessKey:
        """Issue a key for ``username`` (administrators, from the command line)."""
        async with self.database.read() as session:
            account = await session.scalar(
                select(Account).where(Account.username == username)
            )
        if account is None:
            raise NotFound(
                f"There is no user named '{username}'. Create it first with "
                f"'openfxn admin create-user {username}'."
            )
        return await self.issue(account.id, name)

    async def revoke(self, caller: Caller, request: RevokeAccessKeyInput) -> AccessKey:
        account = caller.require_account()
        async with self.database.write() as session:
            row = await session.scalar(
                select(tables.AccessKey).where(
                    tables.AccessKey.id == request.id,
                    tables.AccessKey.account_id == account.id,
                    tables.AccessKey.revoked.is_(None),
                )
            )
            if row is None:
                raise NotFound(
                    f"You have no active access key with id '{request.id[:40]}'. "
                    "List your keys to find its id."
                )
            await session.execute(
                update(tables.AccessKey)
                .where(tables.AccessKey.id == row.id)
                .values(revoked=utcnow())
            )
        self.keys.forget(key_id=row.id)
        return to_access_key(row)
