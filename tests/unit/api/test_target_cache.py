"""Trigger targets: read at most once a second; a publish or archive here is seen at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callout.api.target_cache import TARGET_CACHE_SECONDS, TARGET_REFRESH_AT, TargetCache
from callout.model.clock import ManualClock
from callout.store.memory import MemoryStore
from callout.store.protocol import NotFoundError
from callout.store.workflow_records import RunTarget, TriggerCall, WorkflowRecords

T0 = 1_800_000_000.0
ORG = "org_1"


class CountedReads:
    """The memory store's trigger reads, counted."""

    def __init__(self, records: WorkflowRecords) -> None:
        self.records = records
        self.reads = 0

    async def trigger_target(
        self, *, org_id: str, workflow_id: str, idempotency_key: str | None
    ) -> TriggerCall | RunTarget:
        self.reads += 1
        return await self.records.trigger_target(
            org_id=org_id, workflow_id=workflow_id, idempotency_key=idempotency_key
        )

    async def event_targets(
        self, *, org_id: str, event: str, idempotency_key: str | None
    ) -> TriggerCall | list[RunTarget]:
        self.reads += 1
        return await self.records.event_targets(
            org_id=org_id, event=event, idempotency_key=idempotency_key
        )


async def published(store: MemoryStore, name: str, event: str | None, now: float) -> str:
    document: dict[str, Any] = {"name": name}
    created = await store.workflows.create_workflow(
        org_id=ORG, name=name, document=document, by=None, now=now
    )
    draft = await store.workflows.get_version(
        org_id=ORG, workflow_id=created.id, version_id="draft"
    )
    await store.workflows.publish(
        org_id=ORG,
        workflow_id=created.id,
        draft_id=draft.id,
        checked=document,
        event=event,
        by=None,
        now=now,
    )
    return created.id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock=clock)


async def test_an_event_is_read_once_a_second(store: MemoryStore, clock: ManualClock) -> None:
    first = await published(store, "first", "inquiry.done", T0)
    reads = CountedReads(store.workflows)
    cache = TargetCache(reads, clock=clock)  # type: ignore[arg-type]  # the two reads it uses
    for _ in range(5):
        assert [t.workflow.id for t in await cache.event(org_id=ORG, event="inquiry.done")] == [
            first
        ]
    assert reads.reads == 1
    # Published in another process: seen once the second is up, not before.
    second = await published(store, "second", "inquiry.done", T0 + 0.5)
    clock.advance(TARGET_CACHE_SECONDS - 0.01)
    assert len(await cache.event(org_id=ORG, event="inquiry.done")) == 1
    clock.advance(0.02)
    found = await cache.event(org_id=ORG, event="inquiry.done")
    assert [t.workflow.id for t in found] == [first, second]
    assert reads.reads == 2


async def test_forgetting_an_organization_reads_its_targets_again_at_once(
    store: MemoryStore, clock: ManualClock
) -> None:
    workflow_id = await published(store, "w", None, T0)
    reads = CountedReads(store.workflows)
    cache = TargetCache(reads, clock=clock)  # type: ignore[arg-type]
    target = await cache.workflow(org_id=ORG, workflow_id=workflow_id)
    assert target.workflow.status == "published"
    await store.workflows.set_archived(org_id=ORG, workflow_id=workflow_id, archived=True, now=T0)
    assert (await cache.workflow(org_id=ORG, workflow_id=workflow_id)).workflow.status == (
        "published"
    )
    cache.forget(ORG)  # what the API does after archiving through this process
    archived = await cache.workflow(org_id=ORG, workflow_id=workflow_id)
    assert archived.workflow.status == "archived"
    assert reads.reads == 2


async def test_an_unknown_workflow_is_not_kept_and_a_clock_set_back_reads_again(
    store: MemoryStore, clock: ManualClock
) -> None:
    reads = CountedReads(store.workflows)
    cache = TargetCache(reads, clock=clock, size=1)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(NotFoundError):
            await cache.workflow(org_id=ORG, workflow_id="wfl_missing")
    assert reads.reads == 2
    workflow_id = await published(store, "w", None, T0)
    await cache.workflow(org_id=ORG, workflow_id=workflow_id)
    clock.advance(-5)  # read "in the future": not trusted
    await cache.workflow(org_id=ORG, workflow_id=workflow_id)
    assert reads.reads == 4
    await cache.event(org_id=ORG, event="other")  # size 1: the workflow's entry goes
    await cache.workflow(org_id=ORG, workflow_id=workflow_id)
    assert reads.reads == 6


class GatedReads(CountedReads):
    """Counted reads that wait for `gate`, so calls can arrive while one is in flight.

    Each reads before the wait (what a slow answer from the database is): the answer
    is of the moment the read began.
    """

    def __init__(self, records: WorkflowRecords) -> None:
        super().__init__(records)
        self.gate = asyncio.Event()

    async def trigger_target(
        self, *, org_id: str, workflow_id: str, idempotency_key: str | None
    ) -> TriggerCall | RunTarget:
        try:
            return await super().trigger_target(
                org_id=org_id, workflow_id=workflow_id, idempotency_key=idempotency_key
            )
        finally:
            await self.gate.wait()

    async def event_targets(
        self, *, org_id: str, event: str, idempotency_key: str | None
    ) -> TriggerCall | list[RunTarget]:
        try:
            return await super().event_targets(
                org_id=org_id, event=event, idempotency_key=idempotency_key
            )
        finally:
            await self.gate.wait()


async def test_calls_arriving_while_an_entry_is_read_share_that_read(
    store: MemoryStore, clock: ManualClock
) -> None:
    first = await published(store, "first", "inquiry.done", T0)
    reads = GatedReads(store.workflows)
    cache = TargetCache(reads, clock=clock)  # type: ignore[arg-type]
    for expected_reads in (1, 2):  # a missing entry, then one aged out
        calls = [
            asyncio.ensure_future(cache.event(org_id=ORG, event="inquiry.done")) for _ in range(32)
        ]
        await asyncio.sleep(0)
        reads.gate.set()
        answers = await asyncio.gather(*calls)
        assert {tuple(t.workflow.id for t in found) for found in answers} == {(first,)}
        assert reads.reads == expected_reads
        reads.gate.clear()
        clock.advance(TARGET_CACHE_SECONDS)
    # A caller that gives up does not cancel the read the others wait for.
    gone = asyncio.ensure_future(cache.event(org_id=ORG, event="inquiry.done"))
    staying = asyncio.ensure_future(cache.event(org_id=ORG, event="inquiry.done"))
    await asyncio.sleep(0)
    gone.cancel()
    reads.gate.set()
    assert [t.workflow.id for t in await staying] == [first]
    assert reads.reads == 3


async def settled() -> None:
    """Let the calls just made run until they wait (a call, then its read, reach the gate)."""
    for _ in range(3):
        await asyncio.sleep(0)


async def archived_while_read(
    store: MemoryStore, clock: ManualClock
) -> tuple[GatedReads, TargetCache, str, asyncio.Future[RunTarget]]:
    """A workflow asked of a new cache, archived through this process while it is read."""
    workflow_id = await published(store, "w", None, T0)
    reads = GatedReads(store.workflows)
    cache = TargetCache(reads, clock=clock)  # type: ignore[arg-type]
    before = asyncio.ensure_future(cache.workflow(org_id=ORG, workflow_id=workflow_id))
    await settled()
    await store.workflows.set_archived(org_id=ORG, workflow_id=workflow_id, archived=True, now=T0)
    cache.forget(ORG)  # what the API does after archiving through this process
    return reads, cache, workflow_id, before


async def test_a_call_after_a_forget_reads_again_rather_than_join_the_read_in_flight(
    store: MemoryStore, clock: ManualClock
) -> None:
    reads, cache, workflow_id, before = await archived_while_read(store, clock)
    during = asyncio.ensure_future(cache.workflow(org_id=ORG, workflow_id=workflow_id))
    await settled()
    reads.gate.set()
    assert (await before).workflow.status == "published"  # as it was when read
    assert (await during).workflow.status == "archived"  # its own read, not the one in flight
    assert reads.reads == 2


async def test_a_read_in_flight_at_a_forget_is_not_kept(
    store: MemoryStore, clock: ManualClock
) -> None:
    reads, cache, workflow_id, before = await archived_while_read(store, clock)
    reads.gate.set()
    assert (await before).workflow.status == "published"
    assert (await cache.workflow(org_id=ORG, workflow_id=workflow_id)).workflow.status == (
        "archived"
    )
    assert reads.reads == 2


async def test_a_shared_read_that_fails_fails_each_caller_and_is_not_kept(
    store: MemoryStore, clock: ManualClock
) -> None:
    reads = GatedReads(store.workflows)
    cache = TargetCache(reads, clock=clock)  # type: ignore[arg-type]
    calls = [
        asyncio.ensure_future(cache.workflow(org_id=ORG, workflow_id="wfl_missing"))
        for _ in range(3)
    ]
    await asyncio.sleep(0)
    reads.gate.set()
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(answer, NotFoundError) for answer in answers)
    assert reads.reads == 1
    with pytest.raises(NotFoundError):
        await cache.workflow(org_id=ORG, workflow_id="wfl_missing")
    assert reads.reads == 2


async def test_an_entry_past_half_its_life_is_read_again_while_it_is_still_used(
    store: MemoryStore, clock: ManualClock
) -> None:
    first = await published(store, "first", "inquiry.done", T0)
    reads = GatedReads(store.workflows)
    reads.gate.set()
    cache = TargetCache(reads, clock=clock)  # type: ignore[arg-type]
    assert len(await cache.event(org_id=ORG, event="inquiry.done")) == 1
    second = await published(store, "second", "inquiry.done", T0)  # in another process
    reads.gate.clear()  # the read ahead is slow
    clock.advance(TARGET_CACHE_SECONDS * TARGET_REFRESH_AT)
    found = await asyncio.wait_for(cache.event(org_id=ORG, event="inquiry.done"), 1)
    assert [t.workflow.id for t in found] == [first]  # at once, from what is kept
    await asyncio.sleep(0)
    assert reads.reads == 2
    await cache.event(org_id=ORG, event="inquiry.done")
    assert reads.reads == 2  # one read ahead at a time
    # Its second up, the entry is not used: the call waits for the read in flight.
    clock.advance(TARGET_CACHE_SECONDS * (1 - TARGET_REFRESH_AT))
    waiting = asyncio.ensure_future(cache.event(org_id=ORG, event="inquiry.done"))
    await settled()
    assert not waiting.done()
    reads.gate.set()
    assert sorted(t.workflow.id for t in await waiting) == sorted([first, second])
    assert reads.reads == 2
