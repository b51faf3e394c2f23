"""A worker reads an organization's secrets at most once a second; failures are not kept."""

from __future__ import annotations

import asyncio

import pytest

from callout.engine.secret_cache import CachedOrgSecrets
from callout.store.account_records import SecretValues
from callout.store.protocol import StoreUnavailable


class CountingSecrets:
    """Answers with a version number that grows at each read; fails while `failing`."""

    def __init__(self) -> None:
        self.reads = 0
        self.failing = False

    async def values(self, org_id: str, *, now: float) -> SecretValues:
        self.reads += 1
        await asyncio.sleep(0)
        if self.failing:
            raise StoreUnavailable("the database is unavailable: test")
        return SecretValues({"sig": f"{org_id}-v{self.reads}"})


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_reads_are_shared_for_a_second_then_read_again() -> None:
    inner, ticks = CountingSecrets(), Ticks()
    cache = CachedOrgSecrets(inner, monotonic=ticks)
    together = await asyncio.gather(*(cache.values("org_a", now=0) for _ in range(10)))
    assert {found.current["sig"] for found in together} == {"org_a-v1"}
    ticks.now += 0.99
    assert (await cache.values("org_a", now=0)).current["sig"] == "org_a-v1"
    assert inner.reads == 1
    ticks.now += 0.01  # a second after the read: a rotation is seen now
    assert (await cache.values("org_a", now=0)).current["sig"] == "org_a-v2"
    assert (await cache.values("org_b", now=0)).current["sig"] == "org_b-v3"
    assert inner.reads == 3


async def test_a_failed_read_is_not_remembered() -> None:
    inner, ticks = CountingSecrets(), Ticks()
    cache = CachedOrgSecrets(inner, monotonic=ticks)
    inner.failing = True
    with pytest.raises(StoreUnavailable):
        await cache.values("org_a", now=0)
    inner.failing = False
    assert (await cache.values("org_a", now=0)).current["sig"] == "org_a-v2"
