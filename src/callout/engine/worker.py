"""The worker loop: claim due step runs in batches, execute them, until told to stop.

A slot (`concurrency`) is held while an attempt may still send: once its answer
is in (or it ends unsent), the slot takes the next attempt while the result is
recorded. Results still being recorded are at most as many again, so a database
slower than the attempts holds the worker back rather than growing its memory.

Polling the store is the truth: the loop sleeps until the earliest due time
(at most `poll_interval`), and `wake()` cuts a sleep short when this process
knows new work arrived. On stop it claims nothing more, waits up to
`grace` seconds for attempts in flight, then cancels the rest: their leases
run out and another worker sends them again with the same idempotency key.

When the database cannot be reached (`StoreUnavailable`: a restart, a
failover, SQLite locked past its busy timeout) the loop says so once, waits
with the shared backoff (`callout.store.outage`), keeps its attempts in flight
(they record their results when the database is back), and carries on by
itself; a wake-up (the LISTEN connection back) cuts a wait short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from callout.engine.executor import StepExecutor
from callout.engine.metrics import EngineMetrics
from callout.model.clock import Clock, SystemClock
from callout.store.outage import StoreOutage
from callout.store.protocol import Claim, Store, StoreUnavailable

log = logging.getLogger("callout.engine")

LEASE_MARGIN = 30.0
"""Seconds a claim's lease outlives the step's timeout: room to record the attempt's result."""


@dataclass(slots=True)
class Worker:
    """Executes due work from a store with bounded concurrency."""

    store: Store
    executor: StepExecutor
    clock: Clock = field(default_factory=SystemClock)  # local waits only, never due work
    concurrency: int = 64
    poll_interval: float = 0.05
    lease_margin: float = LEASE_MARGIN
    grace: float = 10.0
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _in_flight: set[asyncio.Task[bool]] = field(default_factory=set, repr=False)
    _sending: set[asyncio.Task[bool]] = field(default_factory=set, repr=False)  # hold slots
    _waits: Iterator[float] | None = field(default=None, repr=False)  # set while the store is out

    @property
    def outage(self) -> StoreOutage:
        """What this worker knows of the database; its executor shares it."""
        return self.executor.outage

    @property
    def metrics(self) -> EngineMetrics:
        """Where this worker reports claims and slots; its executor shares it."""
        return self.executor.metrics

    def wake(self) -> None:
        """Look for due work now rather than at the next poll."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then drain within the grace period."""
        stopping: asyncio.Future[bool] = asyncio.ensure_future(stop.wait())
        self.metrics.slots(in_use=0, total=self.concurrency)
        try:
            while not stop.is_set():
                # Cleared before looking, not before sleeping: a wake-up that arrives while
                # the store is asked (work recorded just after it answered) is not lost.
                self._wakeup.clear()
                try:
                    if await self._claim() and self._free() > 0:
                        continue  # more may be due right now
                    await self._sleep(stopping)
                except StoreUnavailable as exc:
                    await self._wait_for_store(exc, stopping)
        finally:
            stopping.cancel()
            await self._drain()

    def _free(self) -> int:
        """Return how many attempts may start now: free slots, while few results are recording."""
        recording_room = 2 * self.concurrency - len(self._in_flight)
        return min(self.concurrency - len(self._sending), recording_room)

    def _full(self) -> bool:
        return self._free() <= 0

    async def _claim(self) -> bool:
        """Claim what is due, up to the free slots; say whether more may be due now.

        Only a claim that filled every slot it asked for may have left due work behind:
        one that came back short took all there was. Claiming again at once found
        nothing, one query per wake-up spent (on PostgreSQL, each worker's, at every
        commit that notified them).
        """
        free = self._free()
        if free <= 0:
            return False
        # Due and expired are the database's judgement: this worker's clock has no say.
        claims = await self.store.claim_due(lease_seconds=self.lease_margin, limit=free)
        self._store_answered()
        for claim in claims:
            self._start(claim)
        if claims:
            self.metrics.claimed(claims)
            self.metrics.slots(in_use=len(self._sending), total=self.concurrency)
        return len(claims) >= free

    def _start(self, claim: Claim) -> None:
        task: asyncio.Task[bool]

        def answered() -> None:
            self._answered(task)

        # Named by its step run: an unexpected failure's log line says whose it was.
        task = asyncio.create_task(
            self.executor.execute(claim, answered=answered), name=claim.step_run_id
        )
        self._in_flight.add(task)
        self._sending.add(task)
        task.add_done_callback(self._finished)

    def _answered(self, task: asyncio.Task[bool]) -> None:
        """Free the slot of an attempt that will send nothing more, while its result records."""
        was_full = self._full()
        self._sending.discard(task)
        self.metrics.slots(in_use=len(self._sending), total=self.concurrency)
        if was_full and not self._full():
            self._wakeup.set()

    def _finished(self, task: asyncio.Task[bool]) -> None:
        was_full = self._full()
        self._in_flight.discard(task)
        self._sending.discard(task)
        self.metrics.slots(in_use=len(self._sending), total=self.concurrency)
        goes_on = True  # unless the attempt says its run ended: look again to be sure
        if not task.cancelled():
            if (error := task.exception()) is not None:
                self.metrics.execution_crashed()
                log.error(
                    "a step execution failed unexpectedly",
                    exc_info=error,
                    extra={"step_run_id": task.get_name()},
                )
            else:
                goes_on = task.result()
        # Look for due work at once when a slot came free in a full worker, or the
        # attempt may have made work due (a next step, a retry). An attempt that ended
        # its run made none: waking for it cost two queries per attempt on PostgreSQL
        # (a claim that finds nothing, then the time until due work).
        if (was_full and not self._full()) or goes_on:
            self._wakeup.set()

    async def _sleep(self, stopping: asyncio.Future[bool]) -> None:
        timeout = self.poll_interval
        if not self._full():
            # How long to sleep is measured by the database; only the sleep itself is ours.
            due_in = await self.store.seconds_until_due()
            if due_in is not None:
                timeout = max(0.0, min(timeout, due_in))
        await self._pause(timeout, stopping)

    async def _pause(self, seconds: float, stopping: asyncio.Future[bool]) -> None:
        """Wait `seconds`, less if woken (since the loop last looked) or stopped."""
        waker: asyncio.Future[bool] = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait(
                {waker, stopping}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waker.cancel()

    async def _wait_for_store(
        self, error: StoreUnavailable, stopping: asyncio.Future[bool]
    ) -> None:
        """Note the outage (logged once per outage), then wait the next step of the backoff."""
        self.outage.lost(error)
        self._waits = self._waits or self.outage.backoff.waits()
        await self._pause(next(self._waits), stopping)

    def _store_answered(self) -> None:
        if self._waits is not None:
            self._waits = None
            self.outage.reached()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(set(self._in_flight), timeout=self.grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
