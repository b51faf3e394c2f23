"""Run events recorded with the result that causes them (the outbox), only when wanted.

Contract tests on SQLite, PostgreSQL and in memory (`service_store`), whose clock,
the database's, is `db_clock` at T0. SQL keeps the outbox in `run_events`; memory
in `MemoryStore.outbox`.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import Claim, FinishedAttempt, LeaseLostError, NewRun
from callout.store.memory import MemoryStore
from callout.store.organizations import Organization
from callout.store.run_events import EventType
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore
from callout.store.tables import run_events
from integration.service_store.delivery_seeds import HOST, claimed, ended, outcome
from integration.service_store.seeds import T0, service_run, set_time

EVERY = frozenset(EventType)
ERROR = {"type": "http_status", "message": "503"}


def recorded(store: ServiceStore) -> list[dict[str, Any]]:
    """Return the outbox: each event's type, run, step, error, host and detail, oldest first."""
    keys = ("org_id", "type", "run_id", "step_id", "error", "host", "detail", "created_at")
    if isinstance(store, MemoryStore):
        rows = [{key: getattr(event, key) for key in keys} for event in store.outbox]
    else:
        assert isinstance(store, SqlStore)
        with store.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(sa.select(run_events))]
    return sorted(
        ({key: row[key] for key in keys} for row in rows),
        key=lambda row: (row["created_at"], row["type"]),
    )


def result(claim: Claim, decision: Decision, events: frozenset[str]) -> FinishedAttempt:
    succeeded = decision is Decision.SUCCEEDED
    return FinishedAttempt(
        attempt_id=claim.attempt_id,
        succeeded=succeeded,
        decision=decision,
        error=None if succeeded else ERROR,
        output={"status": 200} if succeeded else None,
        retry_delay=10 if decision is Decision.RETRY else None,
        events=events,
    )


async def started(store: ServiceStore, run: NewRun) -> Claim:
    await store.create_run(run)
    [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    return claim


async def test_a_failed_run_records_step_errored_and_run_failed_when_wanted(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    run = service_run(now=T0, org_id=acme.id)
    claim = await started(service_store, run)
    set_time(db_clock, T0 + 1)
    await service_store.finish_attempt(claim, result(claim, Decision.ERRORED_FAIL, EVERY))
    common = {"org_id": acme.id, "run_id": run.id, "step_id": "a", "error": ERROR, "host": None}
    assert recorded(service_store) == [
        {**common, "type": "run.failed", "detail": None, "created_at": T0 + 1},
        {**common, "type": "step.errored", "detail": None, "created_at": T0 + 1},
    ]


async def test_only_the_wanted_types_are_recorded(
    service_store: ServiceStore, acme: Organization
) -> None:
    nobody = await started(service_store, service_run(now=T0, org_id=acme.id))
    await service_store.finish_attempt(nobody, result(nobody, Decision.ERRORED_FAIL, frozenset()))
    assert recorded(service_store) == []
    run = service_run(now=T0, org_id=acme.id)
    claim = await started(service_store, run)
    wanted = frozenset({EventType.RUN_FAILED.value, EventType.RUN_COMPLETED.value})
    await service_store.finish_attempt(claim, result(claim, Decision.ERRORED_FAIL, wanted))
    assert [(row["type"], row["run_id"]) for row in recorded(service_store)] == [
        ("run.failed", run.id)
    ]


async def test_run_completed_is_recorded_by_the_result_that_completes_the_run(
    service_store: ServiceStore, acme: Organization
) -> None:
    run = service_run(now=T0, org_id=acme.id, steps=("a", "b"))
    first = await started(service_store, run)
    await service_store.finish_attempt(first, result(first, Decision.SUCCEEDED, EVERY))
    assert recorded(service_store) == []  # the run goes on
    [second] = await service_store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    await service_store.finish_attempt(second, result(second, Decision.SUCCEEDED, EVERY))
    [event] = recorded(service_store)
    assert (event["type"], event["run_id"], event["step_id"], event["error"]) == (
        "run.completed",
        run.id,
        None,
        None,
    )


async def test_a_step_that_errors_and_continues_records_step_errored(
    service_store: ServiceStore, acme: Organization
) -> None:
    run = service_run(now=T0, org_id=acme.id)
    claim = await started(service_store, run)
    await service_store.finish_attempt(claim, result(claim, Decision.ERRORED_CONTINUE, EVERY))
    # Its last step errored and the run went on to its end: completed.
    assert [(row["type"], row["step_id"]) for row in recorded(service_store)] == [
        ("run.completed", None),
        ("step.errored", "a"),
    ]


async def test_a_retry_records_no_event(service_store: ServiceStore, acme: Organization) -> None:
    claim = await started(service_store, service_run(now=T0, org_id=acme.id))
    await service_store.finish_attempt(claim, result(claim, Decision.RETRY, EVERY))
    assert recorded(service_store) == []


async def test_runs_of_no_organization_or_of_the_system_workflow_raise_no_events(
    service_store: ServiceStore, acme: Organization
) -> None:
    alone = await started(service_store, service_run(now=T0))
    await service_store.finish_attempt(alone, result(alone, Decision.ERRORED_FAIL, EVERY))
    system = await service_store.run_events.system_workflow_id(org_id=acme.id)
    notification = service_run(now=T0, org_id=acme.id, workflow_id=system)
    told = await started(service_store, notification)
    await service_store.finish_attempt(told, result(told, Decision.ERRORED_FAIL, EVERY))
    assert recorded(service_store) == []


async def test_a_refused_result_records_no_event(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    run = service_run(now=T0, org_id=acme.id)
    stalled = await started(service_store, run)
    set_time(db_clock, T0 + 3600)
    await service_store.claim_due(lease_seconds=30, limit=1, run_id=run.id)  # taken over
    with pytest.raises(LeaseLostError):
        await service_store.finish_attempt(stalled, result(stalled, Decision.ERRORED_FAIL, EVERY))
    assert recorded(service_store) == []


async def test_the_failure_that_opens_the_breaker_records_host_paused_when_announced(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    wanted = frozenset({EventType.HOST_PAUSED.value})
    for announce in (False, False, True, True):  # the third opens it; the fourth finds it open
        claim = await claimed(service_store, db_clock, acme.id)
        host = outcome(acme.id, failed=True, announce=announce)
        await service_store.finish_attempt(claim, ended(claim, host, failed=True, events=wanted))
    [event] = recorded(service_store)
    assert event == {
        "org_id": acme.id,
        "type": "host.paused",
        "run_id": None,
        "step_id": None,
        "error": None,
        "host": HOST,
        "detail": {
            "failures": 3,
            "next_probe_at": "2027-01-15T08:00:30Z",
            "last_error": "http_status 503",
        },
        "created_at": T0,
    }


async def test_host_paused_is_not_recorded_unless_announced_and_wanted(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    for announce, wanted in ((True, frozenset()), (False, frozenset({"host.paused"}))):
        for _ in range(3):
            claim = await claimed(service_store, db_clock, acme.id)
            host = outcome(acme.id, failed=True, announce=announce)
            await service_store.finish_attempt(
                claim, ended(claim, host, failed=True, events=wanted)
            )
        assert len(await service_store.delivery.paused_hosts()) == 1  # it opened
        await service_store.delivery.resume_host(org_id=acme.id, host=HOST)
    assert recorded(service_store) == []
