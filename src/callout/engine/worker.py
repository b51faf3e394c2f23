"""The worker loop: claim due step runs in batches, execute them, until told to stop.

Polling the store is the truth: the loop sleeps until the earliest due time
(at most `poll_interval`), and `wake()` cuts a sleep short when this process
knows new work arrived. On stop it claims nothing more, waits up to
`grace` seconds for attempts in flight, then cancels the rest: their leases
run out and another worker sends them again with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from callout.engine.executor import StepExecutor
from callout.model.clock import Clock, SystemClock
from callout.store.protocol import Store

log = logging.getLogger("callout.engine")

CLAIM_LEASE = 30.0
"""Seconds a fresh claim holds before the attempt stretches it to its own timeout."""


@dataclass(slots=True)
class Worker:
    """Executes due work from a store with bounded concurrency."""

    store: Store
    executor: StepExecutor
    clock: Clock = field(default_factory=SystemClock)
    concurrency: int = 64
    poll_interval: float = 0.05
    claim_lease: float = CLAIM_LEASE
    grace: float = 10.0
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def wake(self) -> None:
        """Look for due work now rather than at the next poll."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then drain within the grace period."""
        stopping: asyncio.Future[bool] = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                claimed = await self._claim()
                if claimed and len(self._in_flight) < self.concurrency:
                    continue  # more may be due right now
                await self._sleep(stopping)
        finally:
            stopping.cancel()
            await self._drain()

    async def _claim(self) -> int:
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        claims = await self.store.claim_due(
            now=self.clock.now(), lease_seconds=self.claim_lease, limit=free
        )
        for claim in claims:
            task = asyncio.create_task(self.executor.execute(claim))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(claims)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a step execution failed unexpectedly", exc_info=error)
        self._wakeup.set()

    async def _sleep(self, stopping: asyncio.Future[bool]) -> None:
        timeout = self.poll_interval
        if len(self._in_flight) < self.concurrency:
            due = await self.store.next_due_at()
            if due is not None:
                timeout = max(0.0, min(timeout, due - self.clock.now()))
        self._wakeup.clear()
        waker: asyncio.Future[bool] = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait(
                {waker, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waker.cancel()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(set(self._in_flight), timeout=self.grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
