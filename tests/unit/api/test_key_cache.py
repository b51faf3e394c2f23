"""The API-key cache: an answer lives at most a second, changes made here reach it at once."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from callout.api.key_cache import KEY_CACHE_SECONDS, REFRESH_AT, KeyCache
from callout.model.clock import ManualClock
from callout.model.plans import Plan
from callout.store.account_changes import AccountWatcher
from callout.store.account_records import LAST_USED_EVERY, Caller, NewApiKey, Organization
from callout.store.memory import MemoryStore

T0 = 1_800_000_000.0


class CountedReads:
    """The memory store's key lookups, counted, and held back while `gate` is clear."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def caller_for_key(self, *, key: str) -> Caller | None:
        self.reads += 1
        answer = await self.store.accounts.caller_for_key(key=key)
        await self.gate.wait()
        return answer

    def watch(self, watcher: AccountWatcher) -> None:
        self.store.accounts.watch(watcher)


class Unwatched(CountedReads):
    """Another process's reads: a cache over the same records, not told of changes."""

    def watch(self, watcher: AccountWatcher) -> None:
        pass


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def reads(store: MemoryStore) -> CountedReads:
    return CountedReads(store)


@pytest.fixture
def cache(reads: CountedReads, clock: ManualClock) -> KeyCache:
    return KeyCache(reads, clock=clock)


async def new_org(store: MemoryStore, name: str = "Acme") -> tuple[Organization, NewApiKey]:
    return await store.accounts.create_organization(name=name, plan=Plan.GROWTH, now=T0)


async def test_an_answer_is_reused_for_up_to_a_second_then_read_again(
    store: MemoryStore, reads: CountedReads, cache: KeyCache, clock: ManualClock
) -> None:
    org, first = await new_org(store)
    for _ in range(3):
        caller = await cache.caller(first.key)
        assert caller is not None
        assert (caller.org, caller.key_id) == (org, first.info.id)
    assert reads.reads == 1
    clock.advance(KEY_CACHE_SECONDS - 0.001)
    await cache.caller(first.key)
    assert reads.reads == 1
    clock.advance(0.001)
    await cache.caller(first.key)
    assert reads.reads == 2


async def test_a_key_revoked_through_the_same_store_is_refused_at_once(
    store: MemoryStore, cache: KeyCache
) -> None:
    org, first = await new_org(store)
    second = await store.accounts.create_api_key(org_id=org.id, name="deploy", now=T0)
    assert await cache.caller(first.key) is not None
    assert await cache.caller(second.key) is not None
    await store.accounts.revoke_api_key(key_id=first.info.id, now=T0)
    assert await cache.caller(first.key) is None
    assert await cache.caller(second.key) is not None


async def test_a_key_revoked_elsewhere_passes_for_at_most_a_second(
    store: MemoryStore, clock: ManualClock
) -> None:
    elsewhere = KeyCache(Unwatched(store), clock=clock)
    _org, first = await new_org(store)
    assert await elsewhere.caller(first.key) is not None
    await store.accounts.revoke_api_key(key_id=first.info.id, now=T0)
    clock.advance(KEY_CACHE_SECONDS / 2)
    assert await elsewhere.caller(first.key) is not None  # the answer read before it
    clock.advance(KEY_CACHE_SECONDS / 2)
    assert await elsewhere.caller(first.key) is None


async def revoked_elsewhere_at_half_life(
    store: MemoryStore, clock: ManualClock
) -> tuple[Unwatched, KeyCache, str]:
    """A key read by another process's cache, revoked, and its answer half a second old."""
    reads = Unwatched(store)
    elsewhere = KeyCache(reads, clock=clock)
    _org, first = await new_org(store)
    assert await elsewhere.caller(first.key) is not None
    await store.accounts.revoke_api_key(key_id=first.info.id, now=T0)
    clock.advance(KEY_CACHE_SECONDS * REFRESH_AT)
    return reads, elsewhere, first.key


async def test_an_answer_past_half_its_life_is_read_again_while_it_is_still_used(
    store: MemoryStore, clock: ManualClock
) -> None:
    reads, elsewhere, key = await revoked_elsewhere_at_half_life(store, clock)
    reads.gate.clear()  # the read ahead is slow
    # Answered at once from the answer it has, while that answer is read again.
    assert await asyncio.wait_for(elsewhere.caller(key), 1) is not None
    await asyncio.sleep(0)
    assert reads.reads == 2
    assert await asyncio.wait_for(elsewhere.caller(key), 1) is not None
    assert reads.reads == 2  # one read ahead at a time
    # Its second up, the answer is not used: the request waits for the read in flight.
    clock.advance(KEY_CACHE_SECONDS * (1 - REFRESH_AT))
    waiting = asyncio.ensure_future(elsewhere.caller(key))
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done()
    reads.gate.set()
    assert await waiting is None
    assert reads.reads == 2


async def test_a_read_ahead_that_lands_in_time_is_used_before_the_second_is_up(
    store: MemoryStore, clock: ManualClock
) -> None:
    reads, elsewhere, key = await revoked_elsewhere_at_half_life(store, clock)
    assert await elsewhere.caller(key) is not None  # the old answer, read again behind it
    for _ in range(3):
        await asyncio.sleep(0)
    assert await elsewhere.caller(key) is None  # the new answer, before the second is up
    assert reads.reads == 2


async def test_a_plan_change_through_the_same_store_shows_at_once(
    store: MemoryStore, cache: KeyCache
) -> None:
    org, first = await new_org(store)
    _bravo, bravo_key = await new_org(store, "Bravo")
    await cache.caller(first.key)
    await cache.caller(bravo_key.key)
    await store.accounts.set_plan(org_id=org.id, plan=Plan.STARTUP, now=T0)
    caller = await cache.caller(first.key)
    assert caller is not None
    assert caller.org.plan is Plan.STARTUP
    assert len(cache) == 2  # the other organization's answer is kept


async def test_an_answer_read_while_a_key_is_revoked_is_not_kept(
    store: MemoryStore, reads: CountedReads, cache: KeyCache
) -> None:
    _org, first = await new_org(store)
    reads.gate.clear()
    early = asyncio.create_task(cache.caller(first.key))
    while reads.reads == 0:
        await asyncio.sleep(0)
    # The read has its answer (the key was valid) but has not returned it yet.
    await store.accounts.revoke_api_key(key_id=first.info.id, now=T0)
    reads.gate.set()
    assert await early is not None  # asked before the revocation was done
    assert await cache.caller(first.key) is None
    assert reads.reads == 2


async def test_requests_arriving_together_share_one_read(
    store: MemoryStore, reads: CountedReads, cache: KeyCache
) -> None:
    _org, first = await new_org(store)
    reads.gate.clear()
    waiting = [asyncio.create_task(cache.caller(first.key)) for _ in range(20)]
    await asyncio.sleep(0)
    reads.gate.set()
    callers = await asyncio.gather(*waiting)
    assert {caller.key_id if caller else None for caller in callers} == {first.info.id}
    assert reads.reads == 1


async def test_one_request_giving_up_does_not_fail_the_others(
    store: MemoryStore, reads: CountedReads, cache: KeyCache
) -> None:
    _org, first = await new_org(store)
    reads.gate.clear()
    gone, staying = (asyncio.create_task(cache.caller(first.key)) for _ in range(2))
    await asyncio.sleep(0)
    gone.cancel()
    reads.gate.set()
    caller = await staying
    assert caller is not None
    assert gone.cancelled()


async def test_an_unknown_key_is_remembered_too(
    store: MemoryStore, reads: CountedReads, cache: KeyCache, clock: ManualClock
) -> None:
    await new_org(store)
    for _ in range(5):
        assert await cache.caller("callout_not-a-key") is None
    assert reads.reads == 1
    clock.advance(KEY_CACHE_SECONDS)
    assert await cache.caller("callout_not-a-key") is None
    assert reads.reads == 2


async def test_the_cache_is_bounded_and_bad_keys_do_not_push_out_good_ones(
    store: MemoryStore, reads: CountedReads, clock: ManualClock
) -> None:
    cache = KeyCache(reads, clock=clock, max_known=3, max_unknown=5)
    keys = [(await new_org(store, f"Org {n}"))[1].key for n in range(4)]
    for key in keys:
        await cache.caller(key)
    for n in range(50):
        await cache.caller(f"callout_guess-{n}")
    assert len(cache) == 3 + 5
    reads.reads = 0
    for key in keys[1:]:
        assert await cache.caller(key) is not None
    assert reads.reads == 0  # the three newest good keys survived the flood
    assert await cache.caller(keys[0]) is not None
    assert reads.reads == 1  # the oldest was pushed out by newer good keys only


async def test_a_clock_that_goes_back_does_not_stretch_an_answer(
    store: MemoryStore, reads: CountedReads, cache: KeyCache, clock: ManualClock
) -> None:
    _org, first = await new_org(store)
    await cache.caller(first.key)
    clock.advance(-60.0)
    await cache.caller(first.key)
    assert reads.reads == 2


async def test_a_use_is_recorded_once_per_interval_across_requests(
    store: MemoryStore, cache: KeyCache
) -> None:
    _org, first = await new_org(store)
    callers = [await cache.caller(first.key) for _ in range(5)]
    due = [cache.use_is_due(first.key, caller, now=T0) for caller in callers if caller]
    assert due == [True, False, False, False, False]
    later = await cache.caller(first.key)
    assert later is not None
    assert cache.use_is_due(first.key, later, now=T0 + LAST_USED_EVERY - 1) is False
    assert cache.use_is_due(first.key, later, now=T0 + LAST_USED_EVERY) is True


def _strings_reachable_from(root: object, *, besides: object) -> Iterator[str]:
    seen: set[int] = {id(besides)}
    stack = [root]
    while stack:
        found = stack.pop()
        if id(found) in seen or isinstance(found, type):
            continue
        seen.add(id(found))
        if isinstance(found, str):
            yield found
            continue
        stack.extend(gc.get_referents(found))


async def test_the_raw_key_is_never_kept(
    store: MemoryStore, reads: CountedReads, cache: KeyCache
) -> None:
    _org, first = await new_org(store)
    await cache.caller(first.key)
    await cache.caller("callout_not-a-key")
    assert len(cache) == 2
    kept = _strings_reachable_from(cache, besides=reads)  # all the cache holds but the store
    assert [text for text in kept if "callout_" in text] == []
