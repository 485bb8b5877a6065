from __future__ import annotations

import pytest

from openfxn.server.auth import cache as cache_module
from openfxn.server.auth.cache import KeyCache
from openfxn.server.store.tables import AccessKey


def key(key_id: str, account_id: int = 1) -> AccessKey:
    return AccessKey(id=key_id, account_id=account_id, name="k", digest=key_id, hint="")


def test_entries_expire_after_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: now[0])
    cache = KeyCache(ttl=5.0)
    cache.put("d1", key("k1"))

    now[0] += 4.9
    fresh = cache.get("d1")
    now[0] += 0.2
    stale = cache.get("d1")

    assert fresh is not None
    assert stale is None


def test_capacity_evicts_least_recent() -> None:
    cache = KeyCache(capacity=2)
    for index in range(3):
        cache.put(f"d{index}", key(f"k{index}"))

    assert cache.get("d0") is None
    assert cache.get("d2") is not None


def test_forget_by_key_or_account() -> None:
    cache = KeyCache()
    cache.put("a", key("k1", account_id=1))
    cache.put("b", key("k2", account_id=1))
    cache.put("c", key("k3", account_id=2))

    cache.forget(key_id="k3")
    assert cache.get("c") is None
    assert cache.get("a") is not None

    cache.forget(account_id=1)
    assert cache.get("a") is None
    assert cache.get("b") is None
