"""An attached run: `callout run` executes its own run, under leases like a worker.

Only this run's step runs are claimed. Between attempts the loop waits on its
clock for as long as the store says the next one is away (the store's clock
decides when it is due), so with a manual clock shared by the store a
ten-minute schedule runs at once. The run is in the store all along: if this process dies, a
`callout worker` finishes it at the due times already recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from callout.engine.executor import StepExecutor
from callout.engine.worker import LEASE_MARGIN
from callout.model.clock import Clock
from callout.model.records import RunStatus
from callout.store.protocol import Store, StoredRun

FINISHED = frozenset({RunStatus.COMPLETED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value})
IDLE_POLL = 0.5
"""Seconds between looks when nothing of this run is due (another process holds it)."""


async def run_attached(
    store: Store,
    executor: StepExecutor,
    run_id: str,
    *,
    clock: Clock,
    on_change: Callable[[StoredRun], None] | None = None,
) -> StoredRun:
    """Execute `run_id` to its end in this process; return it as recorded."""
    while await store.run_status(run_id) not in FINISHED:
        claims = await store.claim_due(lease_seconds=LEASE_MARGIN, limit=1, run_id=run_id)
        if claims:
            if on_change is not None:
                on_change(await store.get_run(run_id))
            await executor.execute(claims[0])
            if on_change is not None:
                on_change(await store.get_run(run_id))
            continue
        due_in = await store.seconds_until_due(run_id)
        wait = IDLE_POLL if due_in is None else min(due_in, 60.0)
        await clock.sleep(wait)
    final = await store.get_run(run_id)
    if on_change is not None:
        on_change(final)
    return final
