"""The worker's pruning task on the memory store: it prunes when due, rides out failures, stops."""

from __future__ import annotations

import asyncio
import logging

import pytest

from callout.engine.retention_task import (
    PRUNE_EVERY,
    prune_every_setting,
    prune_periodically,
)
from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.model.plans import Plan
from callout.model.records import Decision
from callout.store import FinishedAttempt, NewRun, UnknownRunError
from callout.store.memory import MemoryStore
from callout.store.outage import Backoff, StoreOutage
from callout.store.protocol import StoreUnavailable
from callout.store.retention import DAY, PruneBatch, PruneKind, RetentionScope, RunPosition
from support.polling import eventually


async def old_finished_run(store: MemoryStore, clock: ManualClock) -> str:
    org, _ = await store.accounts.create_organization(name="Acme", plan=Plan.GROWTH, now=0.0)
    run = NewRun(
        id=new_id("wfr"),
        workflow_name="w",
        document={"name": "w"},
        trigger={},
        step_ids=("a",),
        step_run_ids=(new_id("stp"),),
        org_id=org.id,
    )
    await store.create_run(run)
    [claim] = await store.claim_due(lease_seconds=30, limit=1)
    await store.finish_attempt(
        claim,
        FinishedAttempt(attempt_id=claim.attempt_id, succeeded=True, decision=Decision.SUCCEEDED),
    )
    clock.advance(31 * DAY)
    return run.id


async def gone(store: MemoryStore, run_id: str) -> bool:
    try:
        await store.get_run(run_id)
    except UnknownRunError:
        return True
    return False


class FailingOnce:
    """Retention records whose first batch fails as `error`; the rest are the store's."""

    def __init__(self, store: MemoryStore, error: Exception) -> None:
        self._store = store
        self._error: Exception | None = error

    def __getattr__(self, name: str) -> object:
        return getattr(self._store.retention, name)

    async def prune_batch(
        self,
        scope: RetentionScope,
        kind: PruneKind,
        *,
        limit: int,
        after: RunPosition | None = None,
    ) -> PruneBatch:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return await self._store.retention.prune_batch(scope, kind, limit=limit, after=after)


async def test_the_task_prunes_when_due_and_stops_when_told() -> None:
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    run_id = await old_finished_run(store, clock)
    stop = asyncio.Event()

    task = asyncio.create_task(
        prune_periodically(store.retention, "wrk_1", stop, outage=StoreOutage(), check=0.01)
    )
    await eventually(lambda: gone(store, run_id), "the run pruned")
    stop.set()
    await asyncio.wait_for(task, 5)


@pytest.mark.parametrize(
    "error", [StoreUnavailable("the database is unavailable"), RuntimeError("a bug")]
)
async def test_a_failed_pass_is_tried_again(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    run_id = await old_finished_run(store, clock)
    stop = asyncio.Event()
    records = FailingOnce(store, error)
    outage = StoreOutage(Backoff(first=0.01, cap=0.01))

    with caplog.at_level(logging.INFO, logger="callout"):
        task = asyncio.create_task(
            prune_periodically(records, "wrk_1", stop, outage=outage, check=0.01)  # type: ignore[arg-type]
        )
        # The failed pass gave the lease back unfinished: the next ask is given it at once.
        await eventually(lambda: gone(store, run_id), "the run pruned by the next pass")
        stop.set()
        await asyncio.wait_for(task, 5)

    assert "pruned 1 runs (1 attempts)" in caplog.text
    if isinstance(error, RuntimeError):
        assert "a pass of pruning failed" in caplog.text


def test_the_schedule_is_read_from_the_environment() -> None:
    assert prune_every_setting({}) == PRUNE_EVERY == 600
    assert prune_every_setting({"CALLOUT_PRUNE_EVERY": "0"}) == 0
    assert prune_every_setting({"CALLOUT_PRUNE_EVERY": " 30 "}) == 30
    for bad in ("-1", "0.5", "86401", "soon"):
        with pytest.raises(ValueError, match="CALLOUT_PRUNE_EVERY: expected 0"):
            prune_every_setting({"CALLOUT_PRUNE_EVERY": bad})
