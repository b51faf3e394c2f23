"""The run events an organization wants, as a worker reads them: at most once a second.

On the in-memory store's real records; the cache ages by a manual monotonic
clock, so "a second later" is a step of the test. The executor passing the
wanted types with each result, and the store recording only those, is proven
in tests/unit/engine/test_delivery_gate.py and the store's own tests.
"""

from __future__ import annotations

import asyncio

from callout.engine.event_wants import EventWants
from callout.engine.org_cache import OrgCache
from callout.model.clock import ManualClock
from callout.model.plans import Plan
from callout.store.memory import MemoryStore
from callout.store.run_events import EndpointChanges, EndpointFormat, EventType

DB_START = 1_800_000_000.0


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_endpoint_added_or_changed_is_seen_within_a_second() -> None:
    store = MemoryStore(clock=ManualClock(DB_START))
    org, _key = await store.accounts.create_organization(
        name="Acme", plan=Plan.GROWTH, now=DB_START
    )
    monotonic = Monotonic()
    wants = EventWants(store.run_events, monotonic=monotonic)
    assert await wants.of(org.id) == frozenset()
    endpoint = await store.run_events.create_endpoint(
        org_id=org.id,
        name="ops",
        url="https://hooks.example.com/callout",
        events=(EventType.RUN_FAILED, EventType.HOST_PAUSED),
        body_format=EndpointFormat.CALLOUT,
        secret_name="run_events_0123456789",
    )
    monotonic.now += 0.99
    assert await wants.of(org.id) == frozenset()  # the reading is not a second old
    monotonic.now += 0.01
    assert await wants.of(org.id) == {EventType.RUN_FAILED, EventType.HOST_PAUSED}
    await store.run_events.update_endpoint(
        org_id=org.id, endpoint_id=endpoint.id, changes=EndpointChanges(enabled=False)
    )
    monotonic.now += 1.0
    assert await wants.of(org.id) == frozenset()


async def test_a_run_of_no_organization_wants_nothing() -> None:
    store = MemoryStore(clock=ManualClock(DB_START))
    org, _key = await store.accounts.create_organization(
        name="Acme", plan=Plan.GROWTH, now=DB_START
    )
    await store.run_events.create_endpoint(
        org_id=org.id,
        name="ops",
        url="https://hooks.example.com/callout",
        events=(EventType.RUN_COMPLETED,),
        body_format=EndpointFormat.SLACK,
        secret_name="run_events_0123456789",
    )
    wants = EventWants(store.run_events)
    assert await wants.of(org.id) == {EventType.RUN_COMPLETED}
    assert await wants.of(None) == frozenset()  # `callout run`: no endpoints to tell


async def test_attempts_asking_together_share_one_read_and_a_failed_read_is_not_kept() -> None:
    reads: list[str] = []
    release = asyncio.Event()
    failing = True

    async def read(org_id: str) -> int:
        reads.append(org_id)
        await release.wait()
        if failing:
            raise RuntimeError("the database is unavailable")
        return len(reads)

    cache = OrgCache(read, monotonic=Monotonic())
    together = [asyncio.ensure_future(cache.get("org_1")) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    answers = await asyncio.gather(*together, return_exceptions=True)
    assert reads == ["org_1"]  # one read for the five
    assert all(isinstance(answer, RuntimeError) for answer in answers)
    failing = False
    assert await cache.get("org_1") == 2  # read again at once: the failure was not kept
    assert await cache.get("org_1") == 2
    assert reads == ["org_1", "org_1"]


async def test_the_least_recently_used_organizations_go_first_past_the_size() -> None:
    reads: list[str] = []

    async def read(org_id: str) -> str:
        reads.append(org_id)
        return org_id

    cache = OrgCache(read, size=2, monotonic=Monotonic())
    for org_id in ("org_a", "org_b", "org_a", "org_c", "org_a", "org_b"):
        await cache.get(org_id)
    # org_b was the least recently used when org_c came, so it was read again.
    assert reads == ["org_a", "org_b", "org_c", "org_b"]
