"""A resume racing with a prune batch that removes the run's bodies (PostgreSQL).

The resume checks that the bodies are still there in its own transaction, on the
run's row locked: while a batch that blanks them is open, the resume waits for
it and is then refused (409). A check made before the resume's transaction
would read the bodies as present, and the run would resume on nulls.

SQLite needs no test of its own here: its one writer runs the batch and the
resume one after the other, and the check is inside the resume's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.model.plans import Plan
from callout.model.records import Decision
from callout.store import FinishedAttempt, RunStateError
from callout.store.body_removal import remove_bodies
from callout.store.database import database_url
from callout.store.retention import PruneKind, Retention
from callout.store.sql_store import SqlStore, open_store
from callout.store.tables import runs
from integration.service_store.seeds import T0, service_run, set_time
from support.polling import eventually

LOCK_WAITS = sa.text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@pytest.fixture
async def pg_timed_store(pg_url: str, db_clock: ManualClock) -> AsyncIterator[SqlStore]:
    """A store on a fresh PostgreSQL database, its clock `db_clock` at T0."""
    assert db_clock.now() == T0
    real = await open_store(database_url(pg_url), clock=db_clock)
    yield real
    await real.close()


async def failed_run(store: SqlStore) -> tuple[str, str]:
    """A run of one step that failed on a 500, of a new organization; their ids."""
    org, _ = await store.accounts.create_organization(name="Acme", plan=Plan.GROWTH, now=T0)
    run = service_run(now=T0, org_id=org.id)
    await store.create_run(run)
    [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=False,
            decision=Decision.ERRORED_FAIL,
            http_status=500,
            request={"method": "POST", "url": "https://x.test", "headers": [], "body": "{}"},
            response={"status": 500, "headers": [], "body": "no", "body_truncated": False},
            error={"type": "http_status", "message": "HTTP 500", "status": 500, "body": "no"},
        ),
    )
    return run.id, org.id


async def test_a_resume_waits_for_a_batch_removing_its_bodies_and_is_refused(
    pg_timed_store: SqlStore,
) -> None:
    store = pg_timed_store
    run_id, _ = await failed_run(store)
    pruner = store.engine.connect()  # another connection: the batch's transaction
    batch = pruner.begin()
    try:
        await asyncio.to_thread(remove_bodies, pruner, [run_id], now=T0 + 60)
        resume = asyncio.create_task(store.resume(run_id, step_run_id=new_id("stp")))

        async def resume_waits() -> bool:
            waiting = await store.read(lambda conn: conn.execute(LOCK_WAITS).scalar_one())
            return int(waiting) > 0 or resume.done()

        await eventually(resume_waits, "the resume to wait for the batch's lock")
        assert not resume.done()  # it waits for the batch: it has not read the bodies yet
        await asyncio.to_thread(batch.commit)
    finally:
        if batch.is_active:
            await asyncio.to_thread(batch.rollback)
        await asyncio.to_thread(pruner.close)

    with pytest.raises(RunStateError, match="retention removed its bodies"):
        await resume
    run = await store.get_run(run_id)
    assert run.status == "failed"
    assert len(run.steps) == 1  # no step run was added
    assert run.bodies_removed_at == T0 + 60


async def test_a_batch_skips_a_run_a_resume_holds(
    pg_timed_store: SqlStore, db_clock: ManualClock
) -> None:
    store = pg_timed_store
    run_id, org_id = await failed_run(store)
    await store.retention.set_retention(
        org_id=org_id, retention=Retention(days=30, body_days=0), now=T0
    )
    [scope] = [s for s in await store.retention.scopes() if s.org_id == org_id]
    set_time(db_clock, T0 + 60)
    resumer = store.engine.connect()  # holds the run's row, as a resume does
    held = resumer.begin()
    try:
        await asyncio.to_thread(
            resumer.execute, sa.select(runs.c.id).where(runs.c.id == run_id).with_for_update()
        )
        batch = asyncio.create_task(store.retention.prune_batch(scope, PruneKind.BODIES, limit=10))
        await eventually(batch.done, "the batch to pass the held run by")
        assert batch.result().count == 0
    finally:
        await asyncio.to_thread(held.rollback)
        await asyncio.to_thread(resumer.close)

    assert (await store.get_run(run_id)).bodies_removed_at is None
