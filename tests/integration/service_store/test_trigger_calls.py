"""Trigger calls: recorded as built, kept under their key, replayed, listed newest first.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`); the
race between two processes is played on PostgreSQL with two stores.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from callout.model.ids import new_id
from callout.store import trigger_calls
from callout.store.account_records import Organization
from callout.store.database import database_url, open_engine
from callout.store.protocol import NewRun, NotFoundError, RunFilter
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore, open_store
from callout.store.workflow_records import CallOutcome, RunTarget, TriggerCall
from integration.service_store.seeds import T0, new_org, published_workflow, service_run


def new_call(
    org: Organization,
    *,
    now: float = T0,
    key: str | None = None,
    workflow_id: str | None = "wfl_1",
    event: str | None = None,
    status_code: int = 202,
    response: Any = None,
) -> TriggerCall:
    return TriggerCall(
        id=new_id("trg", now=now),
        org_id=org.id,
        workflow_id=workflow_id,
        event=event,
        idempotency_key=key,
        fingerprint="f" * 64,
        status_code=status_code,
        response=response if response is not None else {"at": now},
        created_at=now,
    )


async def record(store: ServiceStore, call: TriggerCall, *runs: NewRun) -> CallOutcome:
    return await store.workflows.start_runs(call, list(runs))


async def run_ids(store: ServiceStore, org: Organization) -> list[str]:
    return [run.id for run in await store.list_runs(where=RunFilter(org_id=org.id))]


async def test_a_call_is_recorded_as_built_with_its_runs(
    service_store: ServiceStore, acme: Organization
) -> None:
    run = service_run(now=T0, org_id=acme.id, workflow_id="wfl_1")
    call = new_call(acme, now=T0 + 0.25, key="order-17", response={"run_id": run.id})
    outcome = await record(service_store, call, run)
    assert outcome == CallOutcome(call, replayed=False)
    assert await service_store.workflows.list_calls(org_id=acme.id) == [call]
    stored = await service_store.get_run(run.id)
    # The call keeps the time the API stamped; the run is stamped by the store's clock.
    assert (stored.org_id, stored.workflow_id, stored.created_at) == (acme.id, "wfl_1", T0)
    assert [step.status for step in stored.steps] == ["pending"]


async def test_a_refused_call_is_recorded_exactly_as_it_was_answered(
    service_store: ServiceStore, acme: Organization
) -> None:
    answer = {"error": {"code": "invalid_payload", "message": "no", "details": []}}
    call = new_call(acme, status_code=422, response=answer)
    assert await record(service_store, call) == CallOutcome(call, replayed=False)
    [listed] = await service_store.workflows.list_calls(org_id=acme.id)
    assert (listed.status_code, listed.response) == (422, answer)
    assert await run_ids(service_store, acme) == []


async def test_a_repeated_key_replays_the_first_call_and_starts_nothing(
    service_store: ServiceStore, acme: Organization
) -> None:
    first_run = service_run(now=T0, org_id=acme.id)
    first = new_call(acme, key="order-17", event="signup", workflow_id=None)
    assert not (await record(service_store, first, first_run)).replayed
    again = new_call(acme, now=T0 + 1, key="order-17", response={"second": True})
    outcome = await record(service_store, again, service_run(now=T0 + 1, org_id=acme.id))
    assert outcome == CallOutcome(first, replayed=True)
    assert await run_ids(service_store, acme) == [first_run.id]
    assert await service_store.workflows.list_calls(org_id=acme.id) == [first]


async def test_the_same_key_in_another_organization_is_another_call(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    mine = new_call(acme, key="order-17", response={"org": "a"})
    theirs = new_call(bravo, now=T0 + 1, key="order-17", response={"org": "b"})
    assert not (await record(service_store, mine)).replayed
    assert not (await record(service_store, theirs)).replayed
    assert await service_store.workflows.list_calls(org_id=acme.id) == [mine]
    assert await service_store.workflows.list_calls(org_id=bravo.id) == [theirs]


async def test_calls_without_a_key_are_all_kept(
    service_store: ServiceStore, acme: Organization
) -> None:
    first, second = new_call(acme, now=T0), new_call(acme, now=T0 + 1)
    await record(service_store, first)
    await record(service_store, second)
    assert await service_store.workflows.list_calls(org_id=acme.id) == [second, first]


async def test_calls_are_listed_newest_first_by_workflow_and_organization(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    oldest = new_call(acme, now=T0, workflow_id="wfl_1")
    middle = new_call(acme, now=T0 + 1, workflow_id="wfl_2")
    newest = new_call(acme, now=T0 + 2, workflow_id="wfl_1")
    for call in (oldest, middle, newest, new_call(bravo, now=T0 + 3, workflow_id="wfl_1")):
        await record(service_store, call)
    calls = service_store.workflows
    assert await calls.list_calls(org_id=acme.id) == [newest, middle, oldest]
    assert await calls.list_calls(org_id=acme.id, workflow_id="wfl_1") == [newest, oldest]
    assert await calls.list_calls(org_id=acme.id, limit=1) == [newest]
    assert await calls.list_calls(org_id=acme.id, before_id=middle.id) == [oldest]


async def test_many_calls_with_one_key_at_once_start_the_runs_of_one(
    service_store: ServiceStore, acme: Organization
) -> None:
    # Together they share commits (and savepoints of one) on SQL: the unique key decides.
    calls = [new_call(acme, key="order-17", response={"n": n}) for n in range(6)]
    runs = [service_run(now=T0, org_id=acme.id) for _ in calls]
    outcomes = await asyncio.gather(
        *(record(service_store, call, run) for call, run in zip(calls, runs, strict=True))
    )
    started = [outcome for outcome in outcomes if not outcome.replayed]
    assert len(started) == 1
    [winner] = started
    assert all(outcome.call == winner.call for outcome in outcomes)
    assert await run_ids(service_store, acme) == [runs[calls.index(winner.call)].id]
    assert await service_store.workflows.list_calls(org_id=acme.id) == [winner.call]


async def test_a_trigger_reads_the_earlier_call_or_else_its_target(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    workflows = service_store.workflows
    live = await published_workflow(service_store, org_id=acme.id, name="one", now=T0)
    target = await workflows.trigger_target(
        org_id=acme.id, workflow_id=live.id, idempotency_key="order-17"
    )
    assert isinstance(target, RunTarget)
    assert (target.workflow.id, target.workflow.status) == (live.id, "published")
    assert target.version is not None
    assert (target.version.id, target.version.document) == (live.live_version_id, {"name": "one"})
    assert target == await workflows.trigger_target(
        org_id=acme.id, workflow_id=live.id, idempotency_key=None
    )
    earlier = new_call(acme, key="order-17", workflow_id=live.id)
    await record(service_store, earlier)
    assert (
        await workflows.trigger_target(
            org_id=acme.id, workflow_id=live.id, idempotency_key="order-17"
        )
        == earlier
    )
    with pytest.raises(NotFoundError):
        await workflows.trigger_target(
            org_id=bravo.id, workflow_id=live.id, idempotency_key="order-17"
        )


async def test_a_workflow_never_published_is_a_target_without_a_version(
    service_store: ServiceStore, acme: Organization
) -> None:
    created = await service_store.workflows.create_workflow(
        org_id=acme.id, name="draft", document={}, by=None, now=T0
    )
    target = await service_store.workflows.trigger_target(
        org_id=acme.id, workflow_id=created.id, idempotency_key=None
    )
    assert isinstance(target, RunTarget)
    assert (target.workflow.status, target.version) == ("draft", None)


async def test_an_event_reads_the_earlier_call_or_else_its_listeners(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    one = await published_workflow(
        service_store, org_id=acme.id, name="one", now=T0, event="signup"
    )
    two = await published_workflow(
        service_store, org_id=acme.id, name="two", now=T0 + 1, event="signup"
    )
    targets = await workflows.event_targets(
        org_id=acme.id, event="signup", idempotency_key="event-1"
    )
    assert isinstance(targets, list)
    assert [(t.workflow.id, t.version.id if t.version else None) for t in targets] == [
        (one.id, one.live_version_id),
        (two.id, two.live_version_id),
    ]
    assert await workflows.event_targets(org_id=acme.id, event="other", idempotency_key=None) == []
    earlier = new_call(acme, key="event-1", workflow_id=None, event="signup")
    await record(service_store, earlier)
    assert (
        await workflows.event_targets(org_id=acme.id, event="signup", idempotency_key="event-1")
        == earlier
    )


class HeldStart:
    """A start of runs that holds its transaction, the call and runs written, until `until()`.

    `start` runs in a store's write transaction (`SqlStore.write_whole`), as
    `workflows.start_runs` runs `trigger_calls.start_runs`: the hold comes after
    everything is written and before the commit, whichever statements wrote it.
    """

    def __init__(self, until: Any, *, fail: bool = False) -> None:
        self.inserted = threading.Event()
        self._until = until
        self._fail = fail

    def start(self, conn: sa.Connection, call: TriggerCall, runs: list[NewRun]) -> CallOutcome:
        outcome = trigger_calls.start_runs(conn, call, runs)
        self.inserted.set()
        deadline = time.monotonic() + 10
        while not self._until():
            assert time.monotonic() < deadline, "the other transaction never waited on the key"
            time.sleep(0.005)  # polling a condition, with a deadline
        if self._fail:
            raise Abandoned
        return outcome


class Abandoned(Exception):
    """What the holding transaction raises to roll back after the other one waited."""


@pytest.fixture
async def two_processes(pg_url: str) -> AsyncIterator[tuple[SqlStore, SqlStore, sa.Engine]]:
    """Two stores on one PostgreSQL database (as two API processes), and a probe engine."""
    first = await open_store(database_url(pg_url))
    second = await open_store(database_url(pg_url))
    probe = open_engine(database_url(pg_url))
    try:
        yield first, second, probe
    finally:
        await first.close()
        await second.close()
        probe.dispose()


def someone_waits_on_a_lock(probe: sa.Engine) -> Any:
    def waiting() -> bool:
        with probe.connect() as conn:
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return int(conn.exec_driver_sql(query).scalar_one()) > 0

    return waiting


async def test_two_processes_racing_with_one_key_start_one_and_replay_it_in_the_other(
    two_processes: tuple[SqlStore, SqlStore, sa.Engine],
) -> None:
    # The first transaction has inserted the call and holds until the second is blocked on
    # the same key; the second then finds the winner committed: a replay, not an error.
    first_store, second_store, probe = two_processes
    org = await new_org(first_store, "Acme", now=T0)
    first_run, second_run = service_run(now=T0, org_id=org.id), service_run(now=T0, org_id=org.id)
    held = HeldStart(someone_waits_on_a_lock(probe))
    first_call = new_call(org, key="order-17", response={"run": first_run.id})
    second_call = new_call(org, key="order-17", response={"run": second_run.id})
    winning = asyncio.create_task(first_store.write_whole(held.start, first_call, [first_run]))
    await asyncio.to_thread(held.inserted.wait, 10)
    losing = await second_store.workflows.start_runs(second_call, [second_run])
    assert await winning == CallOutcome(first_call, replayed=False)
    assert losing == CallOutcome(first_call, replayed=True)
    assert [run.id for run in await second_store.list_runs()] == [first_run.id]


async def test_a_call_waiting_on_a_key_whose_holder_rolls_back_starts_its_runs(
    two_processes: tuple[SqlStore, SqlStore, sa.Engine],
) -> None:
    first_store, second_store, probe = two_processes
    org = await new_org(first_store, "Acme", now=T0)
    first_run, second_run = service_run(now=T0, org_id=org.id), service_run(now=T0, org_id=org.id)
    held = HeldStart(someone_waits_on_a_lock(probe), fail=True)
    first_call = new_call(org, key="order-17")
    second_call = new_call(org, key="order-17", response={"second": True})
    failing = asyncio.create_task(first_store.write_whole(held.start, first_call, [first_run]))
    await asyncio.to_thread(held.inserted.wait, 10)
    started = await second_store.workflows.start_runs(second_call, [second_run])
    with pytest.raises(Abandoned):
        await failing
    assert started == CallOutcome(second_call, replayed=False)
    assert [run.id for run in await first_store.list_runs()] == [second_run.id]
    assert await first_store.workflows.list_calls(org_id=org.id) == [second_call]
