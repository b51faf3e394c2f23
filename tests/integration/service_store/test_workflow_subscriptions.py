"""Which workflows an event starts, and the newest run each workflow shows.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`).
"""

from __future__ import annotations

from callout.model.clock import ManualClock
from callout.store.account_records import Organization
from callout.store.service import ServiceStore
from callout.store.workflow_records import LastRun
from integration.service_store.seeds import T0, published_workflow, service_run, set_time


async def test_an_event_reaches_only_published_unarchived_workflows_of_its_organization(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    workflows = service_store.workflows

    async def published(org: Organization, name: str, now: float, event: str | None) -> str:
        made = await published_workflow(
            service_store, org_id=org.id, name=name, now=now, event=event
        )
        return made.id

    listening = await published(acme, "one", T0, "signup")
    edited = await published(acme, "two", T0 + 1, "signup")
    await workflows.save_draft(
        org_id=acme.id,
        workflow_id=edited,
        name="two",
        document={"name": "two, edited"},
        by=None,
        now=T0 + 2,
    )
    await published(acme, "other", T0 + 3, "refund")
    await published(acme, "manual", T0 + 4, None)
    archived = await published(acme, "old", T0 + 5, "signup")
    await workflows.set_archived(org_id=acme.id, workflow_id=archived, archived=True, now=T0 + 6)
    await workflows.create_workflow(
        org_id=acme.id, name="unpublished", document={}, by=None, now=T0 + 7
    )
    await published(bravo, "theirs", T0 + 8, "signup")

    found = await workflows.subscribed_workflows(org_id=acme.id, event="signup")
    assert [(info.id, info.status, info.event) for info in found] == [
        (listening, "published", "signup"),
        (edited, "published", "signup"),
    ]
    assert (found[1].live_version_number, found[1].draft_version_number) == (1, 2)
    assert await workflows.subscribed_workflows(org_id=acme.id, event="nothing") == []
    targets = await workflows.event_targets(org_id=acme.id, event="signup", idempotency_key=None)
    assert isinstance(targets, list)
    assert [target.workflow.id for target in targets] == [listening, edited]
    # The live version starts runs, not the draft saved since.
    assert [target.version.document for target in targets if target.version] == [
        {"name": "one"},
        {"name": "two"},
    ]


async def test_a_workflow_shows_its_newest_run(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    workflows = service_store.workflows
    busy = await published_workflow(
        service_store, org_id=acme.id, name="busy", now=T0, event="signup"
    )
    idle = await published_workflow(
        service_store, org_id=acme.id, name="idle", now=T0, event="signup"
    )
    older = service_run(
        now=T0 + 10, org_id=acme.id, workflow_id=busy.id, version_id=busy.live_version_id
    )
    newer = service_run(
        now=T0 + 20, org_id=acme.id, workflow_id=busy.id, version_id=busy.live_version_id
    )
    set_time(db_clock, T0 + 20)  # the database's clock stamps the runs
    await service_store.create_run(newer)
    # Stamped earlier, committed later (a PostgreSQL transaction's now() is its start).
    set_time(db_clock, T0 + 10)
    await service_store.create_run(older)
    set_time(db_clock, T0 + 30)
    await service_store.cancel(older.id)

    shown = await workflows.get_workflow(org_id=acme.id, workflow_id=busy.id)
    assert shown.last_run == LastRun(id=newer.id, status="pending", created_at=T0 + 20)
    assert (await workflows.get_workflow(org_id=acme.id, workflow_id=idle.id)).last_run is None
    listed = {info.id: info.last_run for info in await workflows.list_workflows(org_id=acme.id)}
    assert listed == {busy.id: shown.last_run, idle.id: None}
    archived = await workflows.set_archived(
        org_id=acme.id, workflow_id=busy.id, archived=True, now=T0 + 31
    )
    assert archived.last_run == shown.last_run
