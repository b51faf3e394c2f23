"""Run event records: notification endpoints, the system workflow, and dispatching the outbox.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`). Events
reach the outbox the one way they do in production: a result that fails or
completes a run, recorded with the event types the organization wants
(`FinishedAttempt.events`).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from callout.engine.notification_runs import notification_run
from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.model.records import Decision
from callout.store.account_records import Organization
from callout.store.database import database_url
from callout.store.memory import MemoryStore
from callout.store.protocol import (
    ConflictError,
    FinishedAttempt,
    NewRun,
    NotFoundError,
    RunFilter,
    StoredRun,
)
from callout.store.run_events import (
    SYSTEM_WORKFLOW_NAME,
    Endpoint,
    EndpointChanges,
    EndpointFormat,
    EventType,
    RunEvent,
)
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore, open_store
from callout.store.tables import run_events
from callout.store.workflow_records import RunTarget
from integration.service_store.seeds import (
    T0,
    new_org,
    published_workflow,
    service_run,
    set_time,
)

FAILED = EventType.RUN_FAILED
COMPLETED = EventType.RUN_COMPLETED


async def endpoint(
    store: ServiceStore,
    org: Organization,
    name: str,
    events: tuple[EventType, ...] = (FAILED,),
    body_format: EndpointFormat = EndpointFormat.CALLOUT,
) -> Endpoint:
    return await store.run_events.create_endpoint(
        org_id=org.id,
        name=name,
        url=f"https://hooks.example.com/{name}",
        events=events,
        body_format=body_format,
        secret_name=f"notify_{name}",
    )


async def finished_run(
    store: ServiceStore,
    org: Organization,
    *,
    failed: bool = True,
    workflow_id: str | None = None,
    events: frozenset[str] = frozenset({FAILED, COMPLETED}),
) -> str:
    """Run one step of a workflow of `org` to its end, the events given recorded with it."""
    if workflow_id is None:
        workflow = await published_workflow(store, org_id=org.id, name="Charge the order", now=T0)
        workflow_id = workflow.id
    run = service_run(now=T0, org_id=org.id, workflow_id=workflow_id)
    await store.create_run(run)
    return await finish(store, run, failed=failed, events=events)


async def finish(store: ServiceStore, run: NewRun, *, failed: bool, events: frozenset[str]) -> str:
    [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=not failed,
            decision=Decision.ERRORED_FAIL if failed else Decision.SUCCEEDED,
            http_status=503 if failed else 200,
            error={"type": "http_status", "message": "503", "status": 503} if failed else None,
            output=None if failed else {"status": 200, "headers": {}, "body": {}},
            events=events,
        ),
    )
    return run.id


class Built:
    """The real `notification_run`, remembering what it was asked to build."""

    def __init__(self) -> None:
        self.asked: list[tuple[RunEvent, Endpoint]] = []

    def __call__(self, event: RunEvent, to: Endpoint) -> NewRun:
        self.asked.append((event, to))
        return notification_run(event, to)


async def notification_runs(store: ServiceStore, org: Organization) -> list[StoredRun]:
    """The organization's runs of its system workflow, read whole."""
    system = await store.run_events.system_workflow_id(org_id=org.id)
    listed = await store.list_runs(limit=1000, where=RunFilter(org_id=org.id, workflow_id=system))
    return [await store.get_run(run.id) for run in listed]


async def test_endpoints_are_created_enabled_listed_by_name_changed_and_deleted(
    service_store: ServiceStore, acme: Organization
) -> None:
    records = service_store.run_events
    ops = await endpoint(service_store, acme, "ops", (FAILED, EventType.HOST_PAUSED))
    chat = await endpoint(service_store, acme, "chat", (COMPLETED,), EndpointFormat.SLACK)

    assert ops.enabled
    assert ops.id.startswith("ntf_")
    assert (ops.events, ops.body_format, ops.secret_name) == (
        (FAILED, EventType.HOST_PAUSED),
        EndpointFormat.CALLOUT,
        "notify_ops",
    )
    assert await records.list_endpoints(org_id=acme.id) == [chat, ops]
    assert await records.get_endpoint(org_id=acme.id, endpoint_id=ops.id) == ops

    changed = await records.update_endpoint(
        org_id=acme.id,
        endpoint_id=ops.id,
        changes=EndpointChanges(
            name="pager",
            url="https://pager.example.com/in",
            events=(EventType.STEP_ERRORED,),
            body_format=EndpointFormat.SLACK,
            enabled=False,
        ),
    )
    assert (changed.id, changed.name, changed.url, changed.enabled) == (
        ops.id,
        "pager",
        "https://pager.example.com/in",
        False,
    )
    assert (changed.events, changed.body_format) == (
        (EventType.STEP_ERRORED,),
        EndpointFormat.SLACK,
    )
    assert changed.secret_name == ops.secret_name  # the signing secret is not an update
    assert await records.get_endpoint(org_id=acme.id, endpoint_id=ops.id) == changed
    unchanged = await records.update_endpoint(
        org_id=acme.id, endpoint_id=chat.id, changes=EndpointChanges()
    )
    assert unchanged == chat

    await records.delete_endpoint(org_id=acme.id, endpoint_id=ops.id)
    assert await records.list_endpoints(org_id=acme.id) == [chat]
    with pytest.raises(NotFoundError):
        await records.get_endpoint(org_id=acme.id, endpoint_id=ops.id)
    with pytest.raises(NotFoundError):
        await records.delete_endpoint(org_id=acme.id, endpoint_id=ops.id)


async def test_a_name_is_taken_once_per_organization(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    records = service_store.run_events
    ops = await endpoint(service_store, acme, "ops")
    chat = await endpoint(service_store, acme, "chat")

    with pytest.raises(ConflictError, match="named 'ops' exists"):
        await endpoint(service_store, acme, "ops")
    with pytest.raises(ConflictError, match="named 'ops' exists"):
        await records.update_endpoint(
            org_id=acme.id, endpoint_id=chat.id, changes=EndpointChanges(name="ops")
        )
    same = await records.update_endpoint(
        org_id=acme.id, endpoint_id=ops.id, changes=EndpointChanges(name="ops")
    )
    assert same.name == "ops"
    assert (await endpoint(service_store, bravo, "ops")).org_id == bravo.id
    assert [e.name for e in await records.list_endpoints(org_id=acme.id)] == ["chat", "ops"]


async def test_another_organizations_endpoint_is_not_found(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    records = service_store.run_events
    ops = await endpoint(service_store, acme, "ops")

    assert await records.list_endpoints(org_id=bravo.id) == []
    with pytest.raises(NotFoundError):
        await records.get_endpoint(org_id=bravo.id, endpoint_id=ops.id)
    with pytest.raises(NotFoundError):
        await records.update_endpoint(
            org_id=bravo.id, endpoint_id=ops.id, changes=EndpointChanges(enabled=False)
        )
    with pytest.raises(NotFoundError):
        await records.delete_endpoint(org_id=bravo.id, endpoint_id=ops.id)
    assert await records.get_endpoint(org_id=acme.id, endpoint_id=ops.id) == ops


async def test_wanted_events_come_only_from_enabled_endpoints_of_the_organization(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    records = service_store.run_events
    assert await records.wanted_events(org_id=acme.id) == frozenset()
    await endpoint(service_store, acme, "ops", (FAILED, EventType.STEP_ERRORED))
    muted = await endpoint(service_store, acme, "muted", (COMPLETED,))
    await endpoint(service_store, bravo, "theirs", (EventType.HOST_PAUSED,))
    await records.update_endpoint(
        org_id=acme.id, endpoint_id=muted.id, changes=EndpointChanges(enabled=False)
    )

    assert await records.wanted_events(org_id=acme.id) == {FAILED, EventType.STEP_ERRORED}
    await records.update_endpoint(
        org_id=acme.id, endpoint_id=muted.id, changes=EndpointChanges(enabled=True)
    )
    assert await records.wanted_events(org_id=acme.id) == {
        FAILED,
        EventType.STEP_ERRORED,
        COMPLETED,
    }
    assert await records.wanted_events(org_id=bravo.id) == {EventType.HOST_PAUSED}


async def test_the_system_workflow_is_recorded_once_and_refuses_every_change(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    records, workflows = service_store.run_events, service_store.workflows
    ids = await asyncio.gather(*(records.system_workflow_id(org_id=acme.id) for _ in range(5)))
    assert len(set(ids)) == 1
    system_id = ids[0]
    assert await records.system_workflow_id(org_id=acme.id) == system_id
    assert await records.system_workflow_id(org_id=bravo.id) != system_id

    info = await workflows.get_workflow(org_id=acme.id, workflow_id=system_id)
    assert (info.name, info.system) == (SYSTEM_WORKFLOW_NAME, True)
    listed = await workflows.list_workflows(org_id=acme.id)
    assert [(w.id, w.system) for w in listed] == [(system_id, True)]
    refused = "callout's workflow of run events"
    with pytest.raises(ConflictError, match=refused):
        await workflows.save_draft(
            org_id=acme.id,
            workflow_id=system_id,
            name="mine now",
            document={"name": "mine now"},
            by=None,
            now=T0,
        )
    with pytest.raises(ConflictError, match=refused):
        await workflows.publish(
            org_id=acme.id,
            workflow_id=system_id,
            draft_id="wflv_1",
            checked={},
            event=None,
            by=None,
            now=T0,
        )
    with pytest.raises(ConflictError, match=refused):
        await workflows.set_archived(org_id=acme.id, workflow_id=system_id, archived=True, now=T0)
    # A trigger reads it as a target of no version, marked system: `prepare_run` refuses it.
    target = await workflows.trigger_target(
        org_id=acme.id, workflow_id=system_id, idempotency_key=None
    )
    assert isinstance(target, RunTarget)
    assert target.workflow.system
    assert target.version is None


async def test_dispatch_starts_one_run_per_subscribed_enabled_endpoint_and_consumes_the_events(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    records = service_store.run_events
    ops = await endpoint(service_store, acme, "ops", (FAILED,))
    chat = await endpoint(service_store, acme, "chat", (FAILED, COMPLETED), EndpointFormat.SLACK)
    await endpoint(service_store, acme, "done", (COMPLETED,))
    off = await endpoint(service_store, acme, "off", (FAILED,))
    await records.update_endpoint(
        org_id=acme.id, endpoint_id=off.id, changes=EndpointChanges(enabled=False)
    )
    await endpoint(service_store, bravo, "theirs", (FAILED,))
    run_id = await finished_run(service_store, acme, failed=True)
    build = Built()

    assert await records.dispatch(limit=100, build=build) == 1

    assert [(event.type, event.run_id, to.name) for event, to in build.asked] == [
        (FAILED, run_id, "chat"),
        (FAILED, run_id, "ops"),
    ]
    event = build.asked[0][0]
    assert (event.org_id, event.workflow_name) == (acme.id, "test")
    assert event.workflow_id is not None
    started = await notification_runs(service_store, acme)
    system_id = await records.system_workflow_id(org_id=acme.id)
    for stored in started:
        assert (stored.workflow_id, stored.workflow_name) == (system_id, SYSTEM_WORKFLOW_NAME)
        assert (stored.org_id, stored.version_id, stored.status) == (acme.id, None, "pending")
        assert stored.trigger["type"] == "run.failed"
        assert stored.trigger["run"]["id"] == run_id
        assert [step.status for step in stored.steps] == ["pending"]
    assert sorted(run.document["steps"][0]["url"] for run in started) == sorted([ops.url, chat.url])
    assert await notification_runs(service_store, bravo) == []
    assert await records.dispatch(limit=100, build=build) == 0  # consumed
    assert len(build.asked) == 2


async def test_an_event_nobody_subscribes_to_is_consumed(
    service_store: ServiceStore, acme: Organization
) -> None:
    records = service_store.run_events
    await endpoint(service_store, acme, "ops", (FAILED,))
    await finished_run(service_store, acme, failed=False, events=frozenset({COMPLETED}))
    build = Built()

    assert await records.dispatch(limit=100, build=build) == 1
    assert build.asked == []
    assert await notification_runs(service_store, acme) == []
    assert await records.dispatch(limit=100, build=build) == 0


async def test_a_result_records_the_events_it_causes_only_of_the_wanted_types(
    service_store: ServiceStore, acme: Organization, db_clock: ManualClock
) -> None:
    records = service_store.run_events
    await endpoint(service_store, acme, "all", tuple(EventType))
    workflow = await published_workflow(service_store, org_id=acme.id, name="w", now=T0)
    failed = await finished_run(
        service_store, acme, workflow_id=workflow.id, events=frozenset({EventType.STEP_ERRORED})
    )
    done = await finished_run(
        service_store, acme, failed=False, workflow_id=workflow.id, events=frozenset()
    )
    set_time(db_clock, T0 + 1)  # recorded after the first: dispatched after it
    completed = await finished_run(
        service_store, acme, failed=False, workflow_id=workflow.id, events=frozenset({COMPLETED})
    )
    build = Built()

    assert await records.dispatch(limit=100, build=build) == 2
    told = [(event.type, event.run_id, event.step_id) for event, _ in build.asked]
    assert told == [(EventType.STEP_ERRORED, failed, "a"), (COMPLETED, completed, None)]
    assert build.asked[0][0].error == {"type": "http_status", "message": "503", "status": 503}
    assert done not in {event.run_id for event, _ in build.asked}


async def test_a_dispatch_takes_at_most_its_limit_oldest_first(
    service_store: ServiceStore, acme: Organization, db_clock: ManualClock
) -> None:
    records = service_store.run_events
    await endpoint(service_store, acme, "ops", (FAILED,))
    workflow = await published_workflow(service_store, org_id=acme.id, name="w", now=T0)
    finished = []
    for moment in (T0 + 3, T0 + 1, T0 + 2):  # recorded out of the order of their run ids
        set_time(db_clock, moment)
        finished.append(await finished_run(service_store, acme, workflow_id=workflow.id))
    build = Built()

    assert await records.dispatch(limit=2, build=build) == 2
    assert await records.dispatch(limit=2, build=build) == 1
    assert [event.created_at for event, _ in build.asked] == [T0 + 1, T0 + 2, T0 + 3]
    assert [event.run_id for event, _ in build.asked] == [finished[1], finished[2], finished[0]]


async def test_a_notification_runs_own_failure_records_no_event(
    service_store: ServiceStore, acme: Organization
) -> None:
    records = service_store.run_events
    await endpoint(service_store, acme, "ops", (FAILED, COMPLETED))
    await finished_run(service_store, acme)
    assert await records.dispatch(limit=100, build=Built()) == 1
    [stored] = await notification_runs(service_store, acme)
    run = NewRun(
        id=stored.id,
        workflow_name=stored.workflow_name,
        document=stored.document,
        trigger=stored.trigger,
        step_ids=(),
        step_run_ids=(),
    )
    # The notification fails, its result carrying the types the organization wants.
    await finish(service_store, run, failed=True, events=frozenset({FAILED, COMPLETED}))
    build = Built()

    assert await records.dispatch(limit=100, build=build) == 0
    assert build.asked == []
    assert len(await notification_runs(service_store, acme)) == 1


async def put_in_outbox(store: ServiceStore, event: RunEvent) -> None:
    """Record `event` as the outbox holds it, whoever wrote it (memory, or a row in SQL)."""
    if isinstance(store, MemoryStore):
        store.outbox.append(event)
        return
    assert isinstance(store, SqlStore)
    row = {
        "id": event.id,
        "org_id": event.org_id,
        "type": event.type.value,
        "run_id": event.run_id,
        "step_id": event.step_id,
        "error": event.error,
        "created_at": event.created_at,
    }
    await store.write(lambda conn: conn.execute(run_events.insert().values(**row)))


async def test_an_event_of_a_system_workflow_run_is_dropped_at_dispatch(
    service_store: ServiceStore, acme: Organization
) -> None:
    """The loop guard's second line: whatever recorded it, dispatch starts nothing for it."""
    records = service_store.run_events
    await endpoint(service_store, acme, "ops", (FAILED,))
    await finished_run(service_store, acme)
    assert await records.dispatch(limit=100, build=Built()) == 1
    [notification] = await notification_runs(service_store, acme)
    for step in (None, "notify"):
        await put_in_outbox(
            service_store,
            RunEvent(
                id=new_id("evt", now=T0),
                org_id=acme.id,
                type=FAILED,
                created_at=T0,
                run_id=notification.id,
                step_id=step,
                error={"type": "http_status", "message": "500", "status": 500},
            ),
        )
    build = Built()

    assert await records.dispatch(limit=100, build=build) == 2  # taken, and dropped
    assert build.asked == []
    assert len(await notification_runs(service_store, acme)) == 1
    assert await records.dispatch(limit=100, build=build) == 0


async def test_a_dispatch_that_fails_starts_nothing_and_keeps_its_events(
    service_store: ServiceStore, acme: Organization
) -> None:
    records = service_store.run_events
    await endpoint(service_store, acme, "a", (FAILED,))
    await endpoint(service_store, acme, "b", (FAILED,))
    await finished_run(service_store, acme)
    built: list[str] = []

    def second_fails(event: RunEvent, to: Endpoint) -> NewRun:
        built.append(to.name)
        if len(built) == 2:
            raise RuntimeError("a bug in the builder")
        return notification_run(event, to)

    with pytest.raises(RuntimeError, match="a bug in the builder"):
        await records.dispatch(limit=100, build=second_fails)

    assert await notification_runs(service_store, acme) == []
    again = Built()
    assert await records.dispatch(limit=100, build=again) == 1
    assert [to.name for _, to in again.asked] == ["a", "b"]


async def test_concurrent_dispatches_from_two_stores_start_each_run_once(pg_url: str) -> None:
    """PostgreSQL: four dispatchers in two processes' stores share the events out (SKIP LOCKED)."""
    clock = ManualClock(T0)
    first = await open_store(database_url(pg_url), clock=clock)
    second = await open_store(database_url(pg_url), clock=clock)
    try:
        org = await new_org(first, "Acme", now=T0)
        await endpoint(first, org, "a", (FAILED,))
        await endpoint(first, org, "b", (FAILED,))
        workflow = await published_workflow(first, org_id=org.id, name="w", now=T0)
        run_ids = [await finished_run(first, org, workflow_id=workflow.id) for _ in range(12)]

        async def drain(store: ServiceStore) -> int:
            taken = 0
            while consumed := await store.run_events.dispatch(limit=3, build=notification_run):
                taken += consumed
            return taken

        taken = await asyncio.gather(drain(first), drain(second), drain(first), drain(second))

        assert sum(taken) == len(run_ids)
        started = await first.list_runs(
            limit=1000,
            where=RunFilter(
                org_id=org.id, workflow_id=await first.run_events.system_workflow_id(org_id=org.id)
            ),
        )
        told = Counter([(await first.get_run(run.id)).trigger["run"]["id"] for run in started])
        assert told == Counter(dict.fromkeys(run_ids, 2))
    finally:
        await first.close()
        await second.close()
