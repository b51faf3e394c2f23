"""Retention: what pruning removes, what it keeps, and who prunes (SQLite, PostgreSQL, memory).

The database's clock (`db_clock`) stands at T0 when a test starts; runs are
recorded then, and the clock is moved on past retention before pruning.
"""

from __future__ import annotations

import pytest

from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.model.records import Decision
from callout.store import FinishedAttempt, NewRun, RunStateError, UnknownRunError
from callout.store.organizations import Organization
from callout.store.protocol import NotFoundError
from callout.store.pruning import PruneSettings, prune
from callout.store.retention import (
    DAY,
    PruneKind,
    Retention,
    RetentionScope,
)
from callout.store.service import ServiceStore
from callout.store.workflow_records import RunTarget, TriggerCall
from integration.service_store.seeds import T0, new_org, published_workflow, service_run, set_time

REQUEST = {
    "method": "POST",
    "url": "https://crm.example.com/users",
    "headers": [["Content-Type", "application/json"]],
    "body": '{"email":"ada@example.com"}',
}
RESPONSE = {
    "status": 201,
    "headers": [["Content-Type", "application/json"]],
    "body": '{"id":"usr_1"}',
    "body_truncated": False,
}


async def finished_run(
    store: ServiceStore,
    clock: ManualClock,
    org: Organization | None,
    *,
    at: float,
    decision: Decision = Decision.SUCCEEDED,
) -> NewRun:
    """A run of one step recorded at `at` and finished there with a request and a response."""
    set_time(clock, at)
    run = service_run(now=at, org_id=org.id if org else None)
    await store.create_run(run)
    [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    succeeded = decision is Decision.SUCCEEDED
    error = None if succeeded else {"type": "http_status", "message": "500", "body": {"why": "x"}}
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=succeeded,
            decision=decision,
            http_status=201 if succeeded else 500,
            request=REQUEST,
            response=RESPONSE,
            error=error,
            output={"status": 201, "headers": {}, "body": {"id": "usr_1"}} if succeeded else None,
        ),
    )
    return run


async def pass_of(store: ServiceStore, *, batch: int = 500) -> dict[PruneKind, int]:
    report = await prune(
        store.retention, holder="test", settings=PruneSettings(batch=batch, min_pause=0)
    )
    assert report is not None
    assert report.finished
    return {kind: report.total(kind) for kind in PruneKind}


async def exists(store: ServiceStore, run_id: str) -> bool:
    try:
        await store.get_run(run_id)
    except UnknownRunError:
        return False
    return True


async def scope_of(store: ServiceStore, org: Organization) -> RetentionScope:
    return next(s for s in await store.retention.scopes() if s.org_id == org.id)


async def test_an_organization_keeps_runs_30_days_unless_it_says_otherwise(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    assert await service_store.retention.get_retention(org_id=acme.id) == Retention()
    assert Retention().run_days == 30
    assert Retention().bodies_days == 30

    kept = await service_store.retention.set_retention(
        org_id=bravo.id, retention=Retention(days=90, body_days=7), now=T0
    )

    assert kept == Retention(days=90, body_days=7)
    assert await service_store.retention.get_retention(org_id=bravo.id) == kept
    assert await service_store.retention.get_retention(org_id=acme.id) == Retention()
    with pytest.raises(NotFoundError):
        await service_store.retention.get_retention(org_id="org_NOPE")
    with pytest.raises(NotFoundError):
        await service_store.retention.set_retention(
            org_id="org_NOPE", retention=Retention(days=1), now=T0
        )


async def test_finished_runs_past_retention_go_with_their_attempts_and_the_rest_stay(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization, bravo: Organization
) -> None:
    await service_store.retention.set_retention(
        org_id=bravo.id, retention=Retention(days=60), now=T0
    )
    old = await finished_run(service_store, db_clock, acme, at=T0)
    old_failed = await finished_run(
        service_store, db_clock, acme, at=T0 + 1, decision=Decision.ERRORED_FAIL
    )
    recent = await finished_run(service_store, db_clock, acme, at=T0 + 20 * DAY)
    bravos = await finished_run(service_store, db_clock, bravo, at=T0)
    of_nobody = await finished_run(service_store, db_clock, None, at=T0)
    set_time(db_clock, T0 + 2)
    pending = service_run(now=T0 + 2, org_id=acme.id)
    await service_store.create_run(pending)  # never claimed: pending for ever

    set_time(db_clock, T0 + 31 * DAY)
    removed = await pass_of(service_store)

    assert removed[PruneKind.RUNS] == 3
    assert not await exists(service_store, old.id)
    assert not await exists(service_store, old_failed.id)
    assert not await exists(service_store, of_nobody.id)  # `callout run`'s: the default, 30 days
    assert await exists(service_store, recent.id)
    assert await exists(service_store, bravos.id)  # its organization keeps 60 days
    assert (await service_store.get_run(pending.id)).status == "pending"  # never touched
    # Nothing is left for a second pass.
    assert (await pass_of(service_store))[PruneKind.RUNS] == 0


async def test_bodies_go_after_body_retention_and_the_run_record_stays(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    await service_store.retention.set_retention(
        org_id=acme.id, retention=Retention(days=30, body_days=7), now=T0
    )
    old = await finished_run(service_store, db_clock, acme, at=T0)
    young = await finished_run(service_store, db_clock, acme, at=T0 + 5 * DAY)

    set_time(db_clock, T0 + 8 * DAY)
    removed = await pass_of(service_store)

    assert removed[PruneKind.BODIES] == 1
    assert removed[PruneKind.RUNS] == 0
    run = await service_store.get_run(old.id)
    assert run.status == "completed"
    assert run.trigger is None
    [step] = run.steps
    assert step.status == "succeeded"
    assert step.output == {"status": 201, "headers": {}, "body": None, "body_removed": True}
    [attempt] = step.attempts
    assert attempt.http_status == 201
    assert attempt.request == {**REQUEST, "body": "", "body_removed": True}
    assert attempt.response == {**RESPONSE, "body": "", "body_removed": True}
    kept = await service_store.get_run(young.id)
    assert kept.trigger == {"run": young.id}
    assert kept.steps[0].attempts[0].request == REQUEST
    assert kept.steps[0].output == {"status": 201, "headers": {}, "body": {"id": "usr_1"}}
    # A pass later finds nothing more before the cutoff, nor reads the old run again.
    assert (await pass_of(service_store))[PruneKind.BODIES] == 0


async def test_an_error_keeps_its_type_and_message_when_its_body_goes(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    await service_store.retention.set_retention(
        org_id=acme.id, retention=Retention(days=30, body_days=0), now=T0
    )
    failed = await finished_run(
        service_store, db_clock, acme, at=T0, decision=Decision.ERRORED_FAIL
    )

    set_time(db_clock, T0 + 60)
    assert (await pass_of(service_store))[PruneKind.BODIES] == 1

    [step] = (await service_store.get_run(failed.id)).steps
    assert step.error == {
        "type": "http_status",
        "message": "500",
        "body": None,
        "body_removed": True,
    }
    assert step.attempts[0].error == step.error


async def test_a_failed_run_whose_bodies_are_gone_cannot_be_resumed(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    await service_store.retention.set_retention(
        org_id=acme.id, retention=Retention(days=30, body_days=1), now=T0
    )
    failed = await finished_run(
        service_store, db_clock, acme, at=T0, decision=Decision.ERRORED_FAIL
    )
    other = await finished_run(
        service_store, db_clock, acme, at=T0 + 1.5 * DAY, decision=Decision.ERRORED_FAIL
    )

    set_time(db_clock, T0 + 2 * DAY)
    await pass_of(service_store)

    with pytest.raises(RunStateError, match="retention removed its bodies"):
        await service_store.resume(failed.id, step_run_id=new_id("stp"))
    assert (await service_store.get_run(failed.id)).status == "failed"
    await service_store.resume(other.id, step_run_id=new_id("stp"))  # its bodies are kept
    assert (await service_store.get_run(other.id)).status == "running"


async def test_a_trigger_key_is_forgotten_by_the_first_pass_after_24_hours(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    workflow = await published_workflow(service_store, org_id=acme.id, name="w", now=T0)

    async def trigger(now: float) -> tuple[str, bool]:
        set_time(db_clock, now)
        run = service_run(now=now, org_id=acme.id, workflow_id=workflow.id)
        call = TriggerCall(
            id=new_id("trg", now=now),
            org_id=acme.id,
            workflow_id=workflow.id,
            event=None,
            idempotency_key="order-42",
            fingerprint="f",
            status_code=202,
            response={"run_id": run.id},
            created_at=now,
        )
        outcome = await service_store.workflows.start_runs(call, [run])
        return outcome.call.id, outcome.replayed

    first, replayed = await trigger(T0)
    assert not replayed
    assert await trigger(T0 + 23 * 3600) == (first, True)
    set_time(db_clock, T0 + 23 * 3600)
    assert (await pass_of(service_store))[PruneKind.TRIGGER_KEYS] == 0  # under 24 h: kept

    set_time(db_clock, T0 + 25 * 3600)
    assert (await pass_of(service_store))[PruneKind.TRIGGER_KEYS] == 1

    target = await service_store.workflows.trigger_target(
        org_id=acme.id, workflow_id=workflow.id, idempotency_key="order-42"
    )
    assert isinstance(target, RunTarget)
    second, replayed = await trigger(T0 + 25 * 3600 + 1)
    assert not replayed
    assert second != first
    # The first call's record stays (without its key) until the runs' retention.
    calls = await service_store.workflows.list_calls(org_id=acme.id)
    assert [(c.id, c.idempotency_key) for c in calls] == [(second, "order-42"), (first, None)]

    set_time(db_clock, T0 + 32 * DAY)
    removed = await pass_of(service_store)
    assert removed[PruneKind.TRIGGER_CALLS] == 2
    assert await service_store.workflows.list_calls(org_id=acme.id) == []


async def test_a_pass_goes_in_bounded_batches_to_the_end(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    made = [await finished_run(service_store, db_clock, acme, at=T0 + n) for n in range(23)]

    set_time(db_clock, T0 + 31 * DAY)
    report = await prune(
        service_store.retention, holder="test", settings=PruneSettings(batch=5, min_pause=0)
    )

    assert report is not None
    assert report.finished
    assert report.total(PruneKind.RUNS) == 23
    assert report.attempts == 23
    assert report.largest_batch == 5
    assert report.batches >= 5
    for run in made:
        assert not await exists(service_store, run.id)


async def test_the_dry_run_counts_what_would_go_and_removes_nothing(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    await service_store.retention.set_retention(
        org_id=acme.id, retention=Retention(days=30, body_days=7), now=T0
    )
    old = await finished_run(service_store, db_clock, acme, at=T0)
    await finished_run(service_store, db_clock, acme, at=T0 + 20 * DAY)  # bodies only
    set_time(db_clock, T0 + 1)
    await service_store.create_run(service_run(now=T0 + 1, org_id=acme.id))  # pending

    set_time(db_clock, T0 + 31 * DAY)
    count = await service_store.retention.prunable(await scope_of(service_store, acme))

    assert (count.runs, count.attempts, count.bodies, count.kept_unfinished) == (1, 1, 1, 1)
    assert await exists(service_store, old.id)
    removed = await pass_of(service_store)
    assert (removed[PruneKind.RUNS], removed[PruneKind.BODIES]) == (1, 1)


async def test_one_pruner_at_a_time_and_passes_every_so_often(
    service_store: ServiceStore, db_clock: ManualClock
) -> None:
    retention = service_store.retention

    assert await retention.take_prune_lease("a", hold_for=60, every=600)
    assert not await retention.take_prune_lease("b", hold_for=60, every=None)
    assert await retention.take_prune_lease("a", hold_for=60, every=None)  # renewed
    set_time(db_clock, T0 + 61)
    assert await retention.take_prune_lease("b", hold_for=60, every=None)  # a's lapsed
    await retention.end_prune_lease("a", finished=True)  # not a's to give back: ignored
    assert not await retention.take_prune_lease("a", hold_for=60, every=None)
    await retention.end_prune_lease("b", finished=True)

    assert not await retention.take_prune_lease("a", hold_for=60, every=600)  # not yet due
    assert await retention.take_prune_lease("a", hold_for=60, every=None)  # now, on demand
    await retention.end_prune_lease("a", finished=False)
    set_time(db_clock, T0 + 61 + 600)
    assert await retention.take_prune_lease("a", hold_for=60, every=600)


async def test_a_pass_is_refused_while_another_pruner_holds_the_lease(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    old = await finished_run(service_store, db_clock, acme, at=T0)
    set_time(db_clock, T0 + 31 * DAY)
    assert await service_store.retention.take_prune_lease("worker", hold_for=60, every=None)

    assert await prune(service_store.retention, holder="cli") is None

    assert await exists(service_store, old.id)


async def test_organizations_added_later_are_pruned_too(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    late = await new_org(service_store, "Late", now=T0)
    run = await finished_run(service_store, db_clock, late, at=T0)

    set_time(db_clock, T0 + 31 * DAY)
    await pass_of(service_store)

    assert not await exists(service_store, run.id)
