"""Cancelling a run: its open step runs stop, and a worker holding one loses its lease."""

from __future__ import annotations

import pytest

from callout.model.records import Decision
from callout.store import (
    Claim,
    FinishedAttempt,
    LeaseLostError,
    NewRun,
    RunStateError,
    SqlStore,
    UnknownRunError,
)
from callout.store.organizations import Organization
from integration.service_store.seeds import T0, service_run

FAR = T0 + 10 * 24 * 3600


async def start(store: SqlStore, org: Organization, steps: tuple[str, ...] = ("a", "b")) -> NewRun:
    run = service_run(now=T0, org_id=org.id, workflow_id="wfl_1", version_id="wflv_1", steps=steps)
    await store.create_run(run, now=T0)
    return run


async def claim(store: SqlStore, run: NewRun, now: float) -> Claim:
    [claimed] = await store.claim_due(now=now, lease_seconds=30, limit=10, run_id=run.id)
    return claimed


def ended(attempt_id: str, decision: Decision, now: float) -> FinishedAttempt:
    return FinishedAttempt(
        attempt_id=attempt_id,
        ended_at=now,
        succeeded=decision is Decision.SUCCEEDED,
        decision=decision,
        http_status=200 if decision is Decision.SUCCEEDED else 500,
        output={"status": 200} if decision is Decision.SUCCEEDED else None,
        error=None if decision is Decision.SUCCEEDED else {"type": "http_status", "message": "500"},
        next_attempt_at=now + 60 if decision is Decision.RETRY else None,
    )


async def attempt(store: SqlStore, claimed: Claim, decision: Decision, now: float) -> None:
    attempt_id = f"att_{claimed.step_run_id}_{claimed.next_number}"
    await store.start_attempt(
        claimed, attempt_id=attempt_id, number=claimed.next_number, now=now, lease_until=now + 40
    )
    await store.finish_attempt(claimed, ended(attempt_id, decision, now + 1))


async def test_a_cancelled_pending_run_has_nothing_left_to_claim(
    store: SqlStore, org_a: Organization
) -> None:
    run = await start(store, org_a)
    await store.cancel(run.id, now=T0 + 5)
    stored = await store.get_run(run.id)
    assert (stored.status, stored.updated_at, stored.finished_at) == ("cancelled", T0 + 5, T0 + 5)
    assert [(step.step_id, step.status, step.due_at) for step in stored.steps] == [
        ("a", "cancelled", None),
        ("b", "cancelled", None),
    ]
    assert await store.claim_due(now=FAR, lease_seconds=30, limit=10) == []
    assert await store.next_due_at(run.id) is None


async def test_a_cancel_keeps_finished_steps_and_stops_a_waiting_retry(
    store: SqlStore, org_a: Organization
) -> None:
    run = await start(store, org_a)
    await attempt(store, await claim(store, run, T0), Decision.SUCCEEDED, T0)
    await attempt(store, await claim(store, run, T0 + 2), Decision.RETRY, T0 + 2)
    await store.cancel(run.id, now=T0 + 5)
    stored = await store.get_run(run.id)
    assert stored.status == "cancelled"
    assert [(step.step_id, step.status) for step in stored.steps] == [
        ("a", "succeeded"),
        ("b", "cancelled"),
    ]
    assert stored.steps[0].output == {"status": 200}
    assert await store.claim_due(now=FAR, lease_seconds=30, limit=10) == []


async def test_a_worker_finishing_an_attempt_of_a_cancelled_run_loses_its_lease(
    store: SqlStore, org_a: Organization
) -> None:
    run = await start(store, org_a)
    claimed = await claim(store, run, T0)
    await store.start_attempt(claimed, attempt_id="att_1", number=1, now=T0, lease_until=T0 + 40)
    await store.cancel(run.id, now=T0 + 5)
    with pytest.raises(LeaseLostError):
        await store.finish_attempt(claimed, ended("att_1", Decision.SUCCEEDED, T0 + 6))
    stored = await store.get_run(run.id)
    assert stored.status == "cancelled"
    [sent] = stored.steps[0].attempts
    assert (sent.status, sent.ended_at, sent.http_status) == ("interrupted", T0 + 5, None)
    assert await store.outputs(run.id) == {}
    assert await store.claim_due(now=FAR, lease_seconds=30, limit=10) == []


async def test_a_worker_starting_an_attempt_of_a_cancelled_run_loses_its_lease(
    store: SqlStore, org_a: Organization
) -> None:
    run = await start(store, org_a)
    claimed = await claim(store, run, T0)
    await store.cancel(run.id, now=T0 + 1)
    with pytest.raises(LeaseLostError):
        await store.start_attempt(
            claimed, attempt_id="att_1", number=1, now=T0 + 2, lease_until=T0 + 40
        )
    assert (await store.get_run(run.id)).steps[0].attempts == ()


@pytest.mark.parametrize("ending", ["completed", "failed", "cancelled"])
async def test_a_finished_run_cannot_be_cancelled(
    store: SqlStore, org_a: Organization, ending: str
) -> None:
    run = await start(store, org_a, steps=("a",))
    if ending == "cancelled":
        await store.cancel(run.id, now=T0 + 2)
    else:
        decision = Decision.SUCCEEDED if ending == "completed" else Decision.ERRORED_FAIL
        await attempt(store, await claim(store, run, T0), decision, T0 + 1)
    before = await store.get_run(run.id)
    assert before.status == ending
    with pytest.raises(RunStateError, match=f"run {run.id} is {ending}"):
        await store.cancel(run.id, now=T0 + 10)
    assert await store.get_run(run.id) == before


async def test_an_unknown_run_cannot_be_cancelled(store: SqlStore) -> None:
    with pytest.raises(UnknownRunError, match="no run wfr_unknown"):
        await store.cancel("wfr_unknown", now=T0)
