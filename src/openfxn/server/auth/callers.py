"""Who is calling: the one place that turns a request's credential into a caller.

Every transport asks :class:`CallerResolver` and hands the :class:`Caller` to
the services. A caller is anonymous when the request carries no credential,
and also when its key is unknown, revoked or expired: operations that need
an account then refuse with the reason in ``problem``. Keys owners hand to
their own customers (resolved through the owner's authorization URL) will be
another branch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from openfxn.server.auth import keys
from openfxn.server.auth.cache import KeyCache
from openfxn.server.auth.credentials import parse_authorization
from openfxn.server.coalesce import Coalesced
from openfxn.server.errors import Unauthenticated
from openfxn.server.store.database import Database
from openfxn.server.store.tables import AccessKey, Account, utcnow

# Writing last_used on every request would turn each read into a write; once a
# minute is enough to tell which keys are in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)

NO_CREDENTIAL = (
    "This operation needs an access key. Send it as 'Authorization: Bearer KEY' "
    "or with Basic auth as the username and an empty password (curl -u KEY:)."
)
INVALID_KEY = (
    "The access key is not valid: it is mistyped, revoked, or was never issued by "
    "this server. Create a new key with POST /accessKeys (GraphQL "
    "createAccessKey), or on the server with 'openfxn admin create-key USERNAME'."
)
EXPIRED_KEY = (
    "The access key expired on {expires}. Create a new key and use it instead."
)


@dataclass(frozen=True)
class Caller:
    """The party a request acts for."""

    account: Account | None = None
    credential: str | None = None
    key_id: str | None = None
    problem: str | None = None

    @property
    def username(self) -> str | None:
        return None if self.account is None else self.account.username

    def require_account(self) -> Account:
        """The caller's account, or Unauthenticated saying why there is none."""
        if self.account is None:
            raise Unauthenticated(self.problem or NO_CREDENTIAL)
        return self.account


ANONYMOUS = Caller()


class CallerResolver:
    def __init__(self, database: Database, cache: KeyCache) -> None:
        self.database = database
        self.cache = cache
        self.fetching: Coalesced[str, AccessKey | None] = Coalesced()

    async def resolve(self, authorization: str | None) -> Caller:
        """The caller for an ``Authorization`` header value (None when absent)."""
        credential = parse_authorization(authorization)
        if credential is None:
            return ANONYMOUS
        digest = keys.digest(credential)
        key = self.cache.get(digest)  # a key found there was well formed
        if key is None:
            if not keys.is_well_formed(credential):
                return Caller(credential=credential, problem=INVALID_KEY)
            key = await self.fetching.load(digest, partial(self.fetch, digest))
        return await self.check(key, credential)

    async def fetch(self, digest: str) -> AccessKey | None:
        async with self.database.read() as session:
            key = await session.scalar(
                select(AccessKey)
                .where(AccessKey.digest == digest)
                .options(joinedload(AccessKey.account))
            )
        if key is not None:
            self.cache.put(digest, key)
        return key

    async def check(self, key: AccessKey | None, credential: str) -> Caller:
        now = utcnow()
        if key is None or key.revoked is not None:
            return Caller(credential=credential, problem=INVALID_KEY)
        if key.expires is not None and key.expires <= now:
            problem = EXPIRED_KEY.format(expires=key.expires.isoformat())
            return Caller(credential=credential, key_id=key.id, problem=problem)

        if key.last_used is None or now - key.last_used > LAST_USED_RESOLUTION:
            key.last_used = now  # also on the cached copy, so it is written once
            await self.touch(key.id, now)
        return Caller(account=key.account, credential=credential, key_id=key.id)

    async def touch(self, key_id: str, now: datetime) -> None:
        async with self.database.write() as session:
            await session.execute(
                update(AccessKey).where(AccessKey.id == key_id).values(last_used=now)
            )
