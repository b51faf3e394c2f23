"""Cancelling a run: its open step runs stop, and a worker holding one loses its lease."""

from __future__ import annotations

import pytest

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import (
    Claim,
    FinishedAttempt,
    LeaseLostError,
    NewRun,
    RunStateError,
    UnknownRunError,
)
from callout.store.organizations import Organization
from callout.store.sql_store import SqlStore
from integration.service_store.seeds import T0, service_run, set_time

FAR = T0 + 10 * 24 * 3600


async def start(store: SqlStore, org: Organization, steps: tuple[str, ...] = ("a", "b")) -> NewRun:
    run = service_run(now=T0, org_id=org.id, workflow_id="wfl_1", version_id="wflv_1", steps=steps)
    await store.create_run(run)  # at T0, by the database's clock (`db_clock`)
    return run


async def claim(store: SqlStore, clock: ManualClock, run: NewRun, now: float) -> Claim:
    set_time(clock, now)
    [claimed] = await store.claim_due(lease_seconds=30, limit=10, run_id=run.id)
    return claimed


def ended(attempt_id: str, decision: Decision) -> FinishedAttempt:
    return FinishedAttempt(
        attempt_id=attempt_id,
        succeeded=decision is Decision.SUCCEEDED,
        decision=decision,
        http_status=200 if decision is Decision.SUCCEEDED else 500,
        output={"status": 200} if decision is Decision.SUCCEEDED else None,
        error=None if decision is Decision.SUCCEEDED else {"type": "http_status", "message": "500"},
        retry_delay=60 if decision is Decision.RETRY else None,
    )


async def attempt(
    store: SqlStore, clock: ManualClock, claimed: Claim, decision: Decision, now: float
) -> None:
    set_time(clock, now + 1)
    await store.finish_attempt(claimed, ended(claimed.attempt_id, decision))


async def test_a_cancelled_pending_run_has_nothing_left_to_claim(
    store: SqlStore, db_clock: ManualClock, org_a: Organization
) -> None:
    run = await start(store, org_a)
    set_time(db_clock, T0 + 5)
    await store.cancel(run.id)
    stored = await store.get_run(run.id)
    assert (stored.status, stored.updated_at, stored.finished_at) == ("cancelled", T0 + 5, T0 + 5)
    assert [(step.step_id, step.status, step.due_at) for step in stored.steps] == [
        ("a", "cancelled", None),
        ("b", "cancelled", None),
    ]
    set_time(db_clock, FAR)
    assert await store.claim_due(lease_seconds=30, limit=10) == []
    assert await store.seconds_until_due(run.id) is None


async def test_a_cancel_keeps_finished_steps_and_stops_a_waiting_retry(
    store: SqlStore, db_clock: ManualClock, org_a: Organization
) -> None:
    run = await start(store, org_a)
    await attempt(store, db_clock, await claim(store, db_clock, run, T0), Decision.SUCCEEDED, T0)
    retrying = await claim(store, db_clock, run, T0 + 2)
    await attempt(store, db_clock, retrying, Decision.RETRY, T0 + 2)
    set_time(db_clock, T0 + 5)
    await store.cancel(run.id)
    stored = await store.get_run(run.id)
    assert stored.status == "cancelled"
    assert [(step.step_id, step.status) for step in stored.steps] == [
        ("a", "succeeded"),
        ("b", "cancelled"),
    ]
    assert stored.steps[0].output == {"status": 200}
    set_time(db_clock, FAR)
    assert await store.claim_due(lease_seconds=30, limit=10) == []


async def test_a_worker_finishing_an_attempt_of_a_cancelled_run_loses_its_lease(
    store: SqlStore, db_clock: ManualClock, org_a: Organization
) -> None:
    run = await start(store, org_a)
    claimed = await claim(store, db_clock, run, T0)
    set_time(db_clock, T0 + 5)
    await store.cancel(run.id)
    set_time(db_clock, T0 + 6)
    with pytest.raises(LeaseLostError):
        await store.finish_attempt(claimed, ended(claimed.attempt_id, Decision.SUCCEEDED))
    stored = await store.get_run(run.id)
    assert stored.status == "cancelled"
    [sent] = stored.steps[0].attempts
    assert (sent.status, sent.ended_at, sent.http_status) == ("interrupted", T0 + 5, None)
    assert await store.outputs(run.id) == {}
    set_time(db_clock, FAR)
    assert await store.claim_due(lease_seconds=30, limit=10) == []


@pytest.mark.parametrize("ending", ["completed", "failed", "cancelled"])
async def test_a_finished_run_cannot_be_cancelled(
    store: SqlStore, db_clock: ManualClock, org_a: Organization, ending: str
) -> None:
    run = await start(store, org_a, steps=("a",))
    if ending == "cancelled":
        set_time(db_clock, T0 + 2)
        await store.cancel(run.id)
    else:
        decision = Decision.SUCCEEDED if ending == "completed" else Decision.ERRORED_FAIL
        await attempt(store, db_clock, await claim(store, db_clock, run, T0), decision, T0 + 1)
    before = await store.get_run(run.id)
    assert before.status == ending
    set_time(db_clock, T0 + 10)
    with pytest.raises(RunStateError, match=f"run {run.id} is {ending}"):
        await store.cancel(run.id)
    assert await store.get_run(run.id) == before


async def test_an_unknown_run_cannot_be_cancelled(store: SqlStore) -> None:
    with pytest.raises(UnknownRunError, match="no run wfr_unknown"):
        await store.cancel("wfr_unknown")
