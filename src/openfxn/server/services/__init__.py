"""The service layer: every operation once, with typed inputs and outputs.

Nothing here knows about HTTP. Transports resolve the caller, validate input
into the models of :mod:`.models`, call a service, and serialize what it
returns; a service signals failure with an error from :mod:`.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass

from openfxn.server.auth.cache import KeyCache
from openfxn.server.services.access_keys import AccessKeyService
from openfxn.server.services.users import UserService
from openfxn.server.store.database import Database


@dataclass(frozen=True)
class Services:
    """The services of one server, sharing one database."""

    users: UserService
    access_keys: AccessKeyService

    @classmethod
    def create(cls, database: Database, keys: KeyCache) -> Services:
        return cls(
            users=UserService(database, keys),
            access_keys=AccessKeyService(database, keys),
        )
