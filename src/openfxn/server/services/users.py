"""Users: the current account, public profiles, and profile updates."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openfxn.server.auth.cache import KeyCache
from openfxn.server.auth.callers import Caller
from openfxn.server.errors import Conflict, NotFound
from openfxn.server.services.models import UpdateUserInput, User, check_username
from openfxn.server.store.database import Database
from openfxn.server.store.tables import Account


def to_user(account: Account, *, is_self: bool) -> User:
    return User(
        username=account.username,
        created=account.created,
        name=account.name,
        avatar=account.avatar,
        bio=account.bio,
        website=account.website,
        github=account.github,
        email=account.email if is_self else None,
        spend_limit=account.spend_limit if is_self else None,
    )


class UserService:
    def __init__(self, database: Database, keys: KeyCache) -> None:
        self.database = database
        self.keys = keys

    async def retrieve_current(self, caller: Caller) -> User:
        return to_user(caller.require_account(), is_self=True)

    async def retrieve(self, caller: Caller, username: str) -> User:
        async with self.database.read() as session:
            account = await session.scalar(
                select(Account).where(Account.username == username.lower())
            )
        if account is None:
            raise NotFound(f"There is no user named '{username[:60]}'.")
        return to_user(
            account, is_self=account.id == getattr(caller.account, "id", None)
        )

    async def update(self, caller: Caller, changes: UpdateUserInput) -> User:
        account_id = caller.require_account().id
        async with self.database.write() as session:
            account = await session.get_one(Account, account_id)
            for field in changes.model_fields_set:
                setattr(account, field, getattr(changes, field))
        self.keys.forget(account_id=account_id)
        return to_user(account, is_self=True)

    async def create(
        self, username: str, *, email: str | None = None, name: str | None = None
    ) -> User:
        """Create an account (administrators only: there is no sign-up yet)."""
        check_username(username)
        try:
            async with self.database.write() as session:
                account = Account(username=username, email=email, name=name)
                session.add(account)
        except IntegrityError:
            raise Conflict(f"The username '{username}' is taken.") from None
        return to_user(account, is_self=True)
