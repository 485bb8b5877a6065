"""Access keys recently read from the database, so most requests read none.

An entry lives ``ttl`` seconds. Revoking a key, or changing the account it
belongs to, drops the entries at once: the services that make those changes
call :meth:`KeyCache.forget`. That is immediate within the server process,
which is how openfxn runs; the ttl bounds how stale a change made by another
process can be.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from openfxn.server.store.tables import AccessKey


class KeyCache:
    def __init__(self, ttl: float = 5.0, capacity: int = 10_000) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self.entries: OrderedDict[str, tuple[float, AccessKey]] = OrderedDict()

    def get(self, digest: str) -> AccessKey | None:
        entry = self.entries.get(digest)
        if entry is None:
            return None
        stored, key = entry
        if time.monotonic() - stored > self.ttl:
            del self.entries[digest]
            return None
        return key

    def put(self, digest: str, key: AccessKey) -> None:
        self.entries[digest] = (time.monotonic(), key)
        self.entries.move_to_end(digest)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def forget(
        self, *, key_id: str | None = None, account_id: int | None = None
    ) -> None:
        """Drop the entries of a key, or of every key of an account."""
        for digest, (_, key) in list(self.entries.items()):
            if key.id == key_id or key.account_id == account_id:
                del self.entries[digest]
