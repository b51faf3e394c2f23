"""The worker's dispatcher of run events: the outbox turned into notification runs, twice a second.

Results record their events in the outbox in their own transaction
(store/run_events.py); this task, beside the worker's loop, hands them on: each
`dispatch` takes up to `DISPATCH_LIMIT` of them and starts, in one transaction,
one run of the organization's system workflow per subscribed endpoint
(`notification_runs.py`), which the worker then executes like any other run.
Any number of workers run it at once: PostgreSQL shares the events out (`SKIP
LOCKED`), SQLite takes one writer at a time. A full batch is followed by the
next at once; an empty outbox is asked again after `DISPATCH_EVERY` seconds, or
sooner when woken. While the database is out the task waits on the shared
backoff, like the heartbeat and the pruning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

from callout.engine.notification_runs import notification_run
from callout.store.outage import StoreOutage
from callout.store.protocol import StoreUnavailable
from callout.store.run_events import NotificationRun, RunEventRecords

log = logging.getLogger("callout.engine")

DISPATCH_EVERY = 0.5
"""Seconds between two looks at an empty outbox."""

DISPATCH_LIMIT = 100
"""Most events one dispatch (one transaction) takes."""


class RunEventDispatcher:
    """Dispatches recorded run events until stopped; `wake` makes it look at once."""

    def __init__(  # noqa: PLR0913 - each is a distinct setting of the dispatcher
        self,
        records: RunEventRecords,
        *,
        outage: StoreOutage,
        build: NotificationRun = notification_run,
        every: float = DISPATCH_EVERY,
        limit: int = DISPATCH_LIMIT,
        dispatched: Callable[[int], None] | None = None,
    ) -> None:
        self._records = records
        self._outage = outage
        self._build = build
        self._every = every
        self._limit = limit
        self._dispatched = dispatched  # told how many events each dispatch consumed (> 0)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll (a result recorded events)."""
        self._woken.set()

    async def dispatch_once(self) -> int:
        """Dispatch one batch; return how many events it consumed."""
        consumed = await self._records.dispatch(limit=self._limit, build=self._build)
        if consumed and self._dispatched is not None:
            self._dispatched(consumed)
        return consumed

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set; ride out database outages on the shared backoff."""
        waits: Iterator[float] | None = None
        while not stop.is_set():
            pause = self._every
            try:
                consumed = await self.dispatch_once()
            except StoreUnavailable as exc:
                self._outage.lost(exc)
                waits = waits or self._outage.backoff.waits()
                pause = next(waits)
            except Exception:  # a failed dispatch must not end the worker's dispatching
                log.exception("dispatching run events failed; the next dispatch tries again")
            else:
                if waits is not None:
                    waits = None
                    self._outage.reached()
                if consumed >= self._limit:
                    continue  # more are waiting: no pause
            await self._pause(pause, stop)

    async def _pause(self, seconds: float, stop: asyncio.Event) -> None:
        """Wait `seconds`, or until woken or stopped."""
        waiting = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._woken.wait())]
        try:
            await asyncio.wait(waiting, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiting:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._woken.clear()
