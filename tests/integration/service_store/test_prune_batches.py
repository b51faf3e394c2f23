"""Pruning keeps the database usable: bounded transactions, and triggers commit between them.

On SQLite and PostgreSQL, with thousands of old runs inserted straight into the
tables (tests/support/filled_runs.py). What is asserted is the mechanism, never
a duration: no transaction deletes more runs than the batch, and a trigger made
from another store (another process's connection) while a pass is going
commits while the pass still has batches to go.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.store.database import database_url
from callout.store.organizations import Organization
from callout.store.pruning import PruneReport, PruneSettings, prune
from callout.store.retention import DAY, PruneKind
from callout.store.sql_store import SqlStore, open_store
from callout.store.workflow_records import TriggerCall
from integration.service_store.seeds import T0, published_workflow, service_run
from support.filled_runs import count_runs, fill_runs
from support.polling import eventually


class RunDeletesPerTransaction:
    """Counts the runs each committed transaction of an engine deleted."""

    def __init__(self, engine: sa.Engine) -> None:
        self.committed: list[int] = []
        self._open: dict[int, int] = defaultdict(int)
        sa.event.listen(engine, "after_cursor_execute", self._executed)
        sa.event.listen(engine, "commit", self._ended)
        sa.event.listen(engine, "rollback", self._rolled_back)

    def _executed(self, conn: sa.Connection, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM RUNS"):
            self._open[id(conn)] += cursor.rowcount

    def _ended(self, conn: sa.Connection) -> None:
        deleted = self._open.pop(id(conn), 0)
        if deleted:
            self.committed.append(deleted)

    def _rolled_back(self, conn: sa.Connection) -> None:
        self._open.pop(id(conn), None)


async def old_runs(store: SqlStore, org: Organization, count: int) -> list[str]:
    """`count` finished runs of `org`, 40 days older than the database's time (T0)."""
    return await asyncio.to_thread(
        fill_runs, store.engine, count=count, created_at=T0 - 40 * DAY, org_id=org.id
    )


async def test_no_transaction_deletes_more_runs_than_the_batch(
    store: SqlStore, org_a: Organization
) -> None:
    await old_runs(store, org_a, 2_350)
    deletes = RunDeletesPerTransaction(store.engine)

    report = await prune(
        store.retention, holder="test", settings=PruneSettings(batch=100, min_pause=0)
    )

    assert report is not None
    assert report.total(PruneKind.RUNS) == 2_350
    assert report.attempts == 2_350
    assert sum(deletes.committed) == 2_350
    assert max(deletes.committed) == 100  # never more than the batch in one transaction
    assert len(deletes.committed) == 24
    assert await asyncio.to_thread(count_runs, store.engine) == 0


async def test_a_trigger_commits_while_a_pass_still_has_batches_to_go(
    store: SqlStore, db_url: str, db_clock: ManualClock, org_a: Organization
) -> None:
    workflow = await published_workflow(store, org_id=org_a.id, name="w", now=T0)
    filled = 6_000
    await old_runs(store, org_a, filled)
    deletes = RunDeletesPerTransaction(store.engine)
    # The API's store: an engine and connections of its own, as `callout serve`'s API has.
    api = await open_store(database_url(db_url), clock=db_clock)
    try:
        pruning: asyncio.Task[PruneReport | None] = asyncio.create_task(
            prune(store.retention, holder="worker", settings=PruneSettings(batch=100))
        )
        await eventually(lambda: len(deletes.committed) >= 1, "the first batch", seconds=30)

        run = service_run(now=T0, org_id=org_a.id, workflow_id=workflow.id)
        call = TriggerCall(
            id=new_id("trg", now=T0),
            org_id=org_a.id,
            workflow_id=workflow.id,
            event=None,
            idempotency_key=None,
            fingerprint="f",
            status_code=202,
            response={"run_id": run.id},
            created_at=T0,
        )
        outcome = await api.workflows.start_runs(call, [run])
        batches_before = len(deletes.committed)
        left_then = await asyncio.to_thread(count_runs, api.engine)

        assert not outcome.replayed
        assert not pruning.done()
        assert left_then > 1  # old runs still there: the trigger did not wait for the pass
        report = await pruning
        assert report is not None
        assert report.total(PruneKind.RUNS) == filled
        assert 0 < batches_before < len(deletes.committed) == filled // 100
        assert (await api.get_run(run.id)).status == "pending"  # the trigger's run, kept
    finally:
        await api.close()
