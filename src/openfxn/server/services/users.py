"""Users: the current account, public profiles, and profile updates."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openfxn.server.auth.authorizations import new_secret, secret_context
from openfxn.server.auth.cache import KeyCache
from openfxn.server.auth.callers import Caller
from openfxn.server.errors import Conflict, InvalidRequest, NotFound
from openfxn.server.outbound import check_url
from openfxn.server.secrets import KeyRing
from openfxn.server.services.models import UpdateUserInput, User, check_username
from openfxn.server.store.database import Database
from openfxn.server.store.tables import Account

NO_URL = (
    "There is no authorization URL on your account, so there is no secret to "
    "rotate. Set one first with updateUser (PATCH /user) and authorizationUrl."
)


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
        authorization_url=account.authorization_url if is_self else None,
    )


class UserService:
    def __init__(
        self,
        database: Database,
        keys: KeyCache,
        ring: KeyRing | None = None,
        allow_http_authorization: bool = False,
        on_authorization_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.database = database
        self.keys = keys
        self.ring = ring
        self.allow_http = allow_http_authorization
        self.on_authorization_change = on_authorization_change

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
        """Change the profile. Setting an authorization URL on an account that
        has none makes its signing secret, shown in this reply only."""
        account_id = caller.require_account().id
        fields = changes.model_fields_set
        url = changes.authorization_url
        if "authorization_url" in fields and url is not None:
            problem = check_url(url, allow_http=self.allow_http)
            if problem is not None:
                raise InvalidRequest(f"authorizationUrl: {problem}.")
        secret = None
        async with self.database.write() as session:
            account = await session.get_one(Account, account_id)
            for field in fields:
                setattr(account, field, getattr(changes, field))
            if "authorization_url" in fields:
                if url is None:
                    account.authorization_secret = None
                elif account.authorization_secret is None:
                    secret = self.seal_new_secret(account)
        self.keys.forget(account_id=account_id)
        if "authorization_url" in fields:
            self.on_authorization_change()
        user = to_user(account, is_self=True)
        user.authorization_secret = secret
        return user

    async def rotate_authorization_secret(self, caller: Caller) -> User:
        """A new signing secret for the account's authorization URL, shown in
        this reply only; the old one stops signing at once."""
        account_id = caller.require_account().id
        async with self.database.write() as session:
            account = await session.get_one(Account, account_id)
            if account.authorization_url is None:
                raise InvalidRequest(NO_URL)
            secret = self.seal_new_secret(account)
        self.keys.forget(account_id=account_id)
        self.on_authorization_change()
        user = to_user(account, is_self=True)
        user.authorization_secret = secret
        return user

    def seal_new_secret(self, account: Account) -> str:
        assert self.ring is not None, "the server gives the user service its key ring"
        secret = new_secret()
        context = secret_context(account.id)
        account.authorization_secret = self.ring.seal(secret, context)
        return secret

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
