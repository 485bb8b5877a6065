"""Coalesced loads: one load per key at a time, shared by every waiter."""

from __future__ import annotations

import asyncio

import pytest

from openfxn.server.coalesce import Coalesced


class Counted:
    def __init__(self, result: object = "loaded") -> None:
        self.calls = 0
        self.result = result
        self.release = asyncio.Event()

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


async def test_callers_during_a_load_share_it_and_later_ones_load_again() -> None:
    loads: Coalesced[str, object] = Coalesced()
    first, other = Counted("first"), Counted("other")

    waiting = [asyncio.create_task(loads.load("a", first)) for _ in range(5)]
    elsewhere = asyncio.create_task(loads.load("b", other))
    await asyncio.sleep(0)
    first.release.set()
    other.release.set()
    results = await asyncio.gather(*waiting, elsewhere)
    again = Counted("again")
    again.release.set()

    assert results == ["first"] * 5 + ["other"]
    assert (first.calls, other.calls) == (1, 1)
    assert await loads.load("a", again) == "again"
    assert loads.running == {}


async def test_a_failed_load_fails_every_waiter_and_is_not_kept() -> None:
    loads: Coalesced[str, object] = Coalesced()
    failing = Counted(LookupError("no such row"))

    waiting = [asyncio.create_task(loads.load("a", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    failing.release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)

    assert [str(outcome) for outcome in outcomes] == ["no such row"] * 3
    assert failing.calls == 1
    assert loads.running == {}


async def test_a_cancelled_waiter_leaves_the_load_to_the_others() -> None:
    loads: Coalesced[str, object] = Coalesced()
    slow = Counted()

    leaving = asyncio.create_task(loads.load("a", slow))
    staying = asyncio.create_task(loads.load("a", slow))
    await asyncio.sleep(0)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    slow.release.set()

    assert await staying == "loaded"
    assert slow.calls == 1
