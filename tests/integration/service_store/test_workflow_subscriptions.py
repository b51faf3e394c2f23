"""Which workflows an event starts, and the newest run each workflow shows."""

from __future__ import annotations

from callout.model.clock import ManualClock
from callout.store import SqlStore
from callout.store.organizations import Organization
from callout.store.workflows import (
    LastRun,
    create_workflow,
    get_workflow,
    list_workflows,
    save_draft,
    set_archived,
    subscribed_workflows,
)
from integration.service_store.seeds import T0, published_workflow, service_run, set_time


async def test_an_event_reaches_only_published_unarchived_workflows_of_its_organization(
    store: SqlStore, org_a: Organization, org_b: Organization
) -> None:
    listening = await published_workflow(store, org_id=org_a.id, name="one", now=T0, event="signup")
    edited = await published_workflow(
        store, org_id=org_a.id, name="two", now=T0 + 1, event="signup"
    )
    await store.write(
        save_draft,
        org_id=org_a.id,
        workflow_id=edited.id,
        name="two",
        document={"name": "two, edited"},
        by=None,
        now=T0 + 2,
    )
    await published_workflow(store, org_id=org_a.id, name="other", now=T0 + 3, event="refund")
    await published_workflow(store, org_id=org_a.id, name="manual", now=T0 + 4, event=None)
    archived = await published_workflow(
        store, org_id=org_a.id, name="old", now=T0 + 5, event="signup"
    )
    await store.write(
        set_archived, org_id=org_a.id, workflow_id=archived.id, archived=True, now=T0 + 6
    )
    await store.write(
        create_workflow, org_id=org_a.id, name="unpublished", document={}, by=None, now=T0 + 7
    )
    await published_workflow(store, org_id=org_b.id, name="theirs", now=T0 + 8, event="signup")

    found = await store.read(subscribed_workflows, org_id=org_a.id, event="signup")
    assert [(info.id, info.status, info.event) for info in found] == [
        (listening.id, "published", "signup"),
        (edited.id, "published", "signup"),
    ]
    assert found[1].live_version_number == 1
    assert await store.read(subscribed_workflows, org_id=org_a.id, event="nothing") == []


async def test_a_workflow_shows_its_newest_run(
    store: SqlStore, db_clock: ManualClock, org_a: Organization
) -> None:
    busy = await published_workflow(store, org_id=org_a.id, name="busy", now=T0, event="signup")
    idle = await published_workflow(store, org_id=org_a.id, name="idle", now=T0, event="signup")
    older = service_run(
        now=T0 + 10, org_id=org_a.id, workflow_id=busy.id, version_id=busy.live_version_id
    )
    newer = service_run(
        now=T0 + 20, org_id=org_a.id, workflow_id=busy.id, version_id=busy.live_version_id
    )
    set_time(db_clock, T0 + 20)  # the database's clock stamps the runs
    await store.create_run(newer)
    # Stamped earlier, committed later (a PostgreSQL transaction's now() is its start).
    set_time(db_clock, T0 + 10)
    await store.create_run(older)
    set_time(db_clock, T0 + 30)
    await store.cancel(older.id)

    shown = await store.read(get_workflow, org_id=org_a.id, workflow_id=busy.id)
    assert shown.last_run == LastRun(id=newer.id, status="pending", created_at=T0 + 20)
    assert (await store.read(get_workflow, org_id=org_a.id, workflow_id=idle.id)).last_run is None
    listed = {info.id: info.last_run for info in await store.read(list_workflows, org_id=org_a.id)}
    assert listed == {busy.id: shown.last_run, idle.id: None}
