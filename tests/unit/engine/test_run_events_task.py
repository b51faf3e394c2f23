"""The dispatcher of run events on the memory store: woken, batched, riding out failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from callout.engine.run_events_task import RunEventDispatcher
from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.model.plans import Plan
from callout.model.records import Decision
from callout.store import FinishedAttempt, NewRun
from callout.store.memory import MemoryStore
from callout.store.outage import Backoff, StoreOutage
from callout.store.protocol import RunFilter, StoreUnavailable
from callout.store.run_events import EndpointFormat, EventType, NotificationRun
from support.polling import eventually

QUICK = StoreOutage(Backoff(first=0.01, cap=0.01))


async def organization_with_endpoint(store: MemoryStore) -> str:
    org, _ = await store.accounts.create_organization(name="Acme", plan=Plan.GROWTH, now=0.0)
    await store.run_events.create_endpoint(
        org_id=org.id,
        name="ops",
        url="https://hooks.example.com/ops",
        events=(EventType.RUN_FAILED,),
        body_format=EndpointFormat.CALLOUT,
        secret_name="notify_ops",
    )
    return org.id


async def failed_run(store: MemoryStore, org_id: str) -> str:
    """A run of the organization fails, its result recording `run.failed` in the outbox."""
    run = NewRun(
        id=new_id("wfr"),
        workflow_name="w",
        document={"name": "w"},
        trigger={},
        step_ids=("a",),
        step_run_ids=(new_id("stp"),),
        org_id=org_id,
    )
    await store.create_run(run)
    [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=False,
            decision=Decision.ERRORED_FAIL,
            error={"type": "http_status", "message": "503", "status": 503},
            events=frozenset({EventType.RUN_FAILED}),
        ),
    )
    return run.id


async def notifications(store: MemoryStore, org_id: str) -> int:
    system = await store.run_events.system_workflow_id(org_id=org_id)
    return len(await store.list_runs(limit=1000, where=RunFilter(workflow_id=system)))


async def notified(store: MemoryStore, org_id: str) -> bool:
    return await notifications(store, org_id) > 0


@asynccontextmanager
async def dispatching(dispatcher: RunEventDispatcher) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


class Counted:
    """The store's run event records, counting dispatches; the next `failures` raise `error`."""

    def __init__(
        self, store: MemoryStore, error: Exception | None = None, failures: int = 0
    ) -> None:
        self._records = store.run_events
        self._error = error or RuntimeError("a bug")
        self.failures = failures
        self.calls = 0

    async def dispatch(self, *, limit: int, build: NotificationRun) -> int:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise self._error
        return await self._records.dispatch(limit=limit, build=build)


async def test_a_wake_dispatches_at_once_and_tells_the_worker() -> None:
    store = MemoryStore(clock=ManualClock())
    org_id = await organization_with_endpoint(store)
    told: list[int] = []
    records = Counted(store)
    dispatcher = RunEventDispatcher(
        records,  # type: ignore[arg-type]
        outage=QUICK,
        every=60,
        dispatched=told.append,
    )

    async with dispatching(dispatcher):
        await eventually(lambda: records.calls == 1, "the first look, at an empty outbox")
        await failed_run(store, org_id)  # the next look is 60 s away
        dispatcher.wake()
        await eventually(lambda: notified(store, org_id), "the notification run")

    assert told == [1]
    assert records.calls == 2
    assert store.outbox == []


async def test_a_full_batch_is_followed_by_the_next_without_a_pause() -> None:
    store = MemoryStore(clock=ManualClock())
    org_id = await organization_with_endpoint(store)
    for _ in range(5):
        await failed_run(store, org_id)
    told: list[int] = []
    dispatcher = RunEventDispatcher(
        store.run_events, outage=QUICK, every=60, limit=2, dispatched=told.append
    )

    async with dispatching(dispatcher):
        await eventually(lambda: not store.outbox, "the outbox drained")

    assert told == [2, 2, 1]
    assert await notifications(store, org_id) == 5


async def test_an_outage_is_ridden_out_and_logged_once_each_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore(clock=ManualClock())
    org_id = await organization_with_endpoint(store)
    await failed_run(store, org_id)
    records = Counted(store, StoreUnavailable("the database is unavailable: gone"), failures=3)
    outage = StoreOutage(Backoff(first=0.01, cap=0.01))
    dispatcher = RunEventDispatcher(records, outage=outage, every=60)  # type: ignore[arg-type]

    with caplog.at_level(logging.WARNING, logger="callout"):
        async with dispatching(dispatcher):
            await eventually(lambda: notified(store, org_id), "the notification run")

    assert records.failures == 0
    assert caplog.text.count("the database is unavailable: gone") == 1
    assert caplog.text.count("the database is back") == 1
    assert not outage.down


async def test_a_failed_dispatch_is_logged_and_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore(clock=ManualClock())
    org_id = await organization_with_endpoint(store)
    await failed_run(store, org_id)
    records = Counted(store, RuntimeError("a bug"), failures=1)
    dispatcher = RunEventDispatcher(records, outage=QUICK, every=0.01)  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="callout"):
        async with dispatching(dispatcher):
            await eventually(lambda: notified(store, org_id), "the notification run")

    assert "dispatching run events failed" in caplog.text
