"""The worker loop on the in-memory store: how much it claims, when it looks, outages, stopping.

Driven through `Worker.run(stop)` only; what it did is read back from the store.
The store's manual clock plays the database's. Real waits stay short: a test
that proves a wait was cut short gives the worker a minute-long poll, so a
worker that slept it out would fail the test's deadline instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from callout.engine.executor import StepExecutor
from callout.engine.starting import start_run
from callout.engine.worker import Worker
from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.steps.validation import validate_workflow
from callout.store.memory import MemoryStore
from callout.store.outage import Backoff, StoreOutage
from callout.store.protocol import Claim, FinishedAttempt
from support.polling import eventually
from support.running import workflow_of
from support.store_outages import MemoryStoreWithOutages

DB_START = 1_800_000_000.0
LONG_AFTER = 24 * 3600.0
MINUTE_POLL = 60.0
"""A poll no test waits out: a worker that looks again sooner was woken or told a due time."""

QUICK = Backoff(first=0.001, cap=0.004)
JSON = (("Content-Type", "application/json"),)


def ok(_: OutboundRequest) -> InboundResponse:
    return InboundResponse(status=200, headers=JSON, body=b"{}")


async def recorded(store: MemoryStore, **config: Any) -> str:
    step = {"id": "a", "action": "make_https_request", "url": "https://api.test/x", **config}
    clock = ManualClock(DB_START)
    return await start_run(store, validate_workflow(workflow_of(step)), {}, clock=clock)


def worker_over(store: MemoryStore, transport: MockTransport, **options: Any) -> Worker:
    """A worker whose own clock is an hour behind the store's: it must not matter."""
    clock = ManualClock(DB_START - 3600)
    executor = StepExecutor(
        store=store, transport=transport, clock=clock, outage=StoreOutage(QUICK)
    )
    return Worker(store=store, executor=executor, clock=clock, **options)


@asynccontextmanager
async def working(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    """Run `worker` for the block; then stop it and wait until it has."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


@asynccontextmanager
async def asleep(store: MemoryStoreWithOutages, transport: MockTransport) -> AsyncIterator[Worker]:
    """A worker polling once a minute, running for the block, once it has gone to sleep."""
    worker = worker_over(store, transport, poll_interval=MINUTE_POLL)
    async with working(worker):
        await eventually(lambda: store.calls["seconds_until_due"] == 1, "the worker to sleep")
        yield worker


def status_is(store: MemoryStore, run_id: str, status: str) -> Callable[[], Any]:
    async def check() -> bool:
        return await store.run_status(run_id) == status

    return check


class Gate:
    """A receiver that holds each request until opened, counting how many it holds at once."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.holding = 0
        self.most = 0
        self.cancelled = 0

    async def __call__(self, request: OutboundRequest) -> InboundResponse:
        self.holding += 1
        self.most = max(self.most, self.holding)
        try:
            await self.open.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.holding -= 1
        return ok(request)


class LimitsSeen(MemoryStore):
    """The in-memory store, keeping the `limit` of every claim."""

    def __init__(self, *, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.limits: list[int] = []

    async def claim_due(
        self, *, lease_seconds: float, limit: int, run_id: str | None = None
    ) -> list[Claim]:
        self.limits.append(limit)
        return await super().claim_due(lease_seconds=lease_seconds, limit=limit, run_id=run_id)


@pytest.fixture
def db() -> ManualClock:
    """The database's clock."""
    return ManualClock(DB_START)


async def test_the_worker_holds_no_more_step_runs_than_its_concurrency(db: ManualClock) -> None:
    store = LimitsSeen(clock=db)
    run_ids = [await recorded(store) for _ in range(5)]
    gate = Gate()
    transport = MockTransport(gate)
    async with working(worker_over(store, transport, concurrency=2, poll_interval=0.01)):
        await eventually(lambda: len(transport.requests) == 2, "two attempts in flight")
        assert store.limits == [2]  # full: it asks for nothing more meanwhile
        statuses = [(await store.get_run(run_id)).steps[0].status for run_id in run_ids]
        assert sorted(statuses) == ["pending"] * 3 + ["running"] * 2
        gate.open.set()
        for run_id in run_ids:
            await eventually(status_is(store, run_id, "completed"), f"{run_id} to complete")
    assert gate.most == 2
    assert all(limit <= 2 for limit in store.limits)
    assert len(transport.requests) == 5


class SlowRecords(MemoryStore):
    """The in-memory store, each result held until `recorded` is opened."""

    def __init__(self, *, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.recorded = asyncio.Event()
        self.recording = 0

    async def finish_attempt(self, claim: Claim, finished: FinishedAttempt) -> None:
        self.recording += 1
        await self.recorded.wait()
        await super().finish_attempt(claim, finished)


async def test_a_slot_takes_the_next_attempt_while_the_last_result_records(
    db: ManualClock,
) -> None:
    store = SlowRecords(clock=db)
    run_ids = [await recorded(store) for _ in range(5)]
    transport = MockTransport(ok)
    async with working(worker_over(store, transport, concurrency=1, poll_interval=0.01)):
        # One slot: the first answer frees it while its result records, so a second
        # attempt is sent; then two results recording are as many as one slot allows.
        await eventually(lambda: store.recording == 2, "two results recording")
        await asyncio.sleep(0.05)  # time enough to send a third, were it allowed
        assert len(transport.requests) == 2
        store.recorded.set()
        for run_id in run_ids:
            await eventually(status_is(store, run_id, "completed"), f"{run_id} to complete")
    assert len(transport.requests) == 5


async def test_wake_cuts_the_sleep_short_when_work_arrives(db: ManualClock) -> None:
    store = MemoryStoreWithOutages(clock=db)
    transport = MockTransport(ok)
    async with asleep(store, transport) as worker:
        run_id = await recorded(store)
        worker.wake()
        await eventually(status_is(store, run_id, "completed"), "the run to complete")


async def test_a_wake_while_the_worker_looks_for_work_is_not_lost(db: ManualClock) -> None:
    # A run recorded (and the worker woken, as `serve` or a LISTEN connection does)
    # after the store answered "nothing due" but before the worker went to sleep.
    class RunArrivesMeanwhile(MemoryStore):
        worker: Worker | None = None
        run_id: str | None = None

        async def seconds_until_due(self, run_id: str | None = None) -> float | None:
            answer = await super().seconds_until_due(run_id)
            if self.run_id is None and self.worker is not None:
                self.run_id = await recorded(self)
                self.worker.wake()
            return answer

    store = RunArrivesMeanwhile(clock=db)
    worker = worker_over(store, MockTransport(ok), poll_interval=MINUTE_POLL)
    store.worker = worker
    async with working(worker):
        await eventually(lambda: store.run_id is not None, "the run to arrive")
        assert store.run_id is not None
        await eventually(status_is(store, store.run_id, "completed"), "the woken worker", seconds=2)


async def test_the_worker_sleeps_until_the_next_due_time_measured_by_the_store(
    db: ManualClock,
) -> None:
    store = MemoryStoreWithOutages(clock=db)
    run_id = await recorded(store, retry_intervals=[1])
    replies = iter([InboundResponse(503), InboundResponse(200)])
    transport = MockTransport(lambda _: next(replies))
    worker = worker_over(store, transport, poll_interval=MINUTE_POLL)
    first = await store.claim_due(lease_seconds=30, limit=1)
    await worker.executor.execute(first[0])
    db.advance(0.95)  # by the database's clock, the retry is due in 0.05 s
    assert await store.seconds_until_due() == pytest.approx(0.05)
    claims_before = store.calls["claim_due"]
    async with working(worker):
        # It looks again after the 0.05 s the store said, not after its minute-long poll.
        await eventually(
            lambda: store.calls["claim_due"] >= claims_before + 2, "a second look for work"
        )
        assert len(transport.requests) == 1  # not due yet by the store's clock
        db.advance(0.05)
        await eventually(status_is(store, run_id, "completed"), "the retry")
    assert len(transport.requests) == 2


async def test_an_idle_worker_looks_once_per_poll_not_in_a_busy_loop(db: ManualClock) -> None:
    store = MemoryStoreWithOutages(clock=db)
    async with working(worker_over(store, MockTransport(ok), poll_interval=0.05)):
        await asyncio.sleep(0.1)
    assert 1 <= store.calls["claim_due"] <= 4


async def test_the_worker_rides_out_an_unavailable_store_and_keeps_its_attempts(
    db: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="callout")
    store = MemoryStoreWithOutages(clock=db)
    in_flight = await recorded(store)
    gate = Gate()
    transport = MockTransport(gate)
    async with working(worker_over(store, transport, poll_interval=0.01)) as task:
        await eventually(lambda: len(transport.requests) == 1, "the first attempt")
        store.fail["claim_due"] = 5  # the database goes away
        arrived = await recorded(store)  # recorded through another connection
        await eventually(lambda: store.fail["claim_due"] == 0, "five failed claims")
        assert not task.done()  # it waits; it does not exit
        gate.open.set()  # the attempt held through the outage ends and is recorded
        await eventually(status_is(store, in_flight, "completed"), "the attempt in flight")
        await eventually(status_is(store, arrived, "completed"), "the run recorded meanwhile")
    assert caplog.text.count("the database is unavailable") == 1
    assert caplog.text.count("the database is back") == 1


async def test_stop_claims_nothing_more_and_lets_the_attempt_in_flight_finish(
    db: ManualClock,
) -> None:
    store = MemoryStore(clock=db)
    in_flight = await recorded(store)
    gate = Gate()
    transport = MockTransport(gate)
    worker = worker_over(store, transport, poll_interval=0.01, grace=10.0)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await eventually(lambda: len(transport.requests) == 1, "the attempt")
    stop.set()
    later = await recorded(store)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()  # draining
    gate.open.set()
    await asyncio.wait_for(task, 5)
    assert await store.run_status(in_flight) == "completed"
    assert await store.run_status(later) == "pending"
    assert len(transport.requests) == 1
    assert gate.cancelled == 0


async def test_stop_cancels_an_attempt_that_outlives_the_grace(db: ManualClock) -> None:
    store = MemoryStore(clock=db)
    run_id = await recorded(store)
    gate = Gate()  # never opened: the receiver hangs
    transport = MockTransport(gate)
    worker = worker_over(store, transport, poll_interval=0.01, grace=0.02)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await eventually(lambda: len(transport.requests) == 1, "the attempt")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert gate.cancelled == 1
    # Its outcome is unknown: it stays `sending` until its lease runs out, and the next
    # claim sends it again, counted as interrupted.
    (attempt,) = (await store.get_run(run_id)).steps[0].attempts
    assert attempt.status == "sending"
    assert await store.claim_due(lease_seconds=30, limit=1) == []
    db.advance(LONG_AFTER)
    (again,) = await store.claim_due(lease_seconds=30, limit=1)
    assert again.interruptions == 1


async def test_a_short_claim_and_an_attempt_that_ends_its_run_send_the_worker_looking_no_more(
    db: ManualClock,
) -> None:
    store = MemoryStoreWithOutages(clock=db)
    gate = Gate()
    transport = MockTransport(gate)
    async with asleep(store, transport) as worker:
        slept_once = store.calls["claim_due"]
        run_id = await recorded(store)
        worker.wake()
        # Claimed and sent; the claim came back short of the slots asked for (it took
        # all there was), so the worker asks when work is next due and sleeps, without
        # a second claim that would find nothing.
        await eventually(lambda: store.calls["seconds_until_due"] == 2, "the worker to sleep")
        looked = (store.calls["claim_due"], store.calls["seconds_until_due"])
        assert looked[0] == slept_once + 1
        gate.open.set()
        await eventually(status_is(store, run_id, "completed"), "the run to complete")
        for _ in range(100):  # ample turns of the loop for a woken worker to claim
            await asyncio.sleep(0)
        # It made nothing due: no claim that finds nothing, no asking when work is due
        # (on PostgreSQL two round trips per attempt).
        assert (store.calls["claim_due"], store.calls["seconds_until_due"]) == looked


async def test_an_attempt_that_makes_its_next_step_due_sends_the_worker_looking(
    db: ManualClock,
) -> None:
    store = MemoryStoreWithOutages(clock=db)
    steps = [
        {"id": "a", "action": "make_https_request", "url": "https://api.test/a"},
        {"id": "b", "action": "make_https_request", "url": "https://api.test/b"},
    ]
    transport = MockTransport(ok)
    async with asleep(store, transport) as worker:
        clock = ManualClock(DB_START)
        run_id = await start_run(store, validate_workflow(workflow_of(*steps)), {}, clock=clock)
        worker.wake()
        # The second step is due when the first succeeds; nothing else wakes the worker
        # within its minute-long poll.
        await eventually(status_is(store, run_id, "completed"), "both steps to run")
    assert [request.url for request in transport.requests] == [
        "https://api.test/a",
        "https://api.test/b",
    ]


async def test_a_full_worker_claims_again_as_its_slots_come_free(
    db: ManualClock,
) -> None:
    store = LimitsSeen(clock=db)
    for _ in range(5):
        await recorded(store)
    transport = MockTransport(ok)
    async with working(worker_over(store, transport, concurrency=2, poll_interval=MINUTE_POLL)):
        # Each full claim may have left due work behind; with a minute-long poll, only
        # looking again at once (or when a full worker frees a slot) drains all five.
        await eventually(lambda: len(transport.requests) == 5, "all five to be sent", seconds=2)
    assert store.limits[0] == 2
