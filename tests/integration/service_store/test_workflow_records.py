"""Workflows and versions: one draft at most; publishing freezes it and makes it live.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callout.store.account_records import Organization
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.service import ServiceStore
from callout.store.workflow_records import (
    VersionInfo,
    VersionState,
    WorkflowInfo,
    WorkflowRecords,
    WorkflowStatus,
)
from integration.service_store.seeds import T0

V1 = {"name": "signup", "steps": [{"id": "a"}]}
V2 = {"name": "signup", "steps": [{"id": "a"}, {"id": "b"}]}


async def new_workflow(
    workflows: WorkflowRecords, org: Organization, *, now: float = T0
) -> WorkflowInfo:
    return await workflows.create_workflow(
        org_id=org.id, name="signup", document=V1, by="key_1", now=now
    )


async def draft(
    workflows: WorkflowRecords, org: Organization, workflow_id: str, document: Any, now: float
) -> VersionInfo:
    return await workflows.save_draft(
        org_id=org.id,
        workflow_id=workflow_id,
        name="signup",
        document=document,
        by="key_2",
        now=now,
    )


async def version(
    workflows: WorkflowRecords, org: Organization, workflow_id: str, which: str
) -> VersionInfo:
    return await workflows.get_version(org_id=org.id, workflow_id=workflow_id, version_id=which)


async def publish(
    workflows: WorkflowRecords,
    org: Organization,
    workflow_id: str,
    now: float,
    event: str | None = "signup",
) -> VersionInfo:
    """Publish the draft as it stands (what the API does once its check passed)."""
    current = await version(workflows, org, workflow_id, "draft")
    return await workflows.publish(
        org_id=org.id,
        workflow_id=workflow_id,
        draft_id=current.id,
        checked=current.document,
        event=event,
        by="key_3",
        now=now,
    )


async def workflow(workflows: WorkflowRecords, org: Organization, workflow_id: str) -> WorkflowInfo:
    return await workflows.get_workflow(org_id=org.id, workflow_id=workflow_id)


async def test_a_new_workflow_is_a_draft_of_version_one(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    assert created.id.startswith("wfl_")
    assert (created.org_id, created.name, created.status) == (acme.id, "signup", "draft")
    assert (created.draft_version_number, created.live_version_id) == (1, None)
    assert (created.event, created.archived_at, created.last_run) == (None, None, None)
    assert (created.created_at, created.updated_at) == (T0, T0)
    first = await version(workflows, acme, created.id, "draft")
    assert first.id.startswith("wflv_")
    assert (first.id, first.number, first.state, first.live) == (
        created.draft_version_id,
        1,
        VersionState.DRAFT,
        False,
    )
    assert (first.document, first.created_by, first.published_at) == (V1, "key_1", None)
    with pytest.raises(NotFoundError, match="has no live version"):
        await version(workflows, acme, created.id, "live")
    with pytest.raises(NotFoundError, match="has no version wflv_0"):
        await version(workflows, acme, created.id, "wflv_0")


async def test_a_document_read_back_is_a_copy(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    steps: list[dict[str, str]] = [{"id": "a"}]
    document = {"name": "signup", "steps": steps}
    created = await workflows.create_workflow(
        org_id=acme.id, name="signup", document=document, by=None, now=T0
    )
    steps.append({"id": "changed after saving"})
    read = await version(workflows, acme, created.id, "draft")
    read.document["steps"].clear()
    assert (await version(workflows, acme, created.id, "draft")).document == V1


async def test_saving_a_draft_twice_keeps_one_draft(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    first = await draft(workflows, acme, created.id, {"name": "one"}, T0 + 1)
    second = await draft(workflows, acme, created.id, {"name": "two"}, T0 + 2)
    assert first.id == second.id == created.draft_version_id
    assert (second.number, second.document) == (1, {"name": "two"})
    assert (second.created_at, second.updated_at, second.updated_by) == (T0, T0 + 2, "key_2")
    listed = await workflows.list_versions(org_id=acme.id, workflow_id=created.id)
    assert [(v.id, v.number, v.document) for v in listed] == [(first.id, 1, None)]
    assert (await workflow(workflows, acme, created.id)).updated_at == T0 + 2


async def test_publishing_makes_the_draft_live(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    published = await publish(workflows, acme, created.id, T0 + 5)
    assert (published.id, published.number) == (created.draft_version_id, 1)
    assert (published.state, published.live, published.document) == (
        VersionState.PUBLISHED,
        True,
        V1,
    )
    assert (published.published_at, published.published_by) == (T0 + 5, "key_3")
    now = await workflow(workflows, acme, created.id)
    assert (now.status, now.event, now.updated_at) == (WorkflowStatus.PUBLISHED, "signup", T0 + 5)
    assert (now.live_version_id, now.live_version_number) == (published.id, 1)
    assert (now.draft_version_id, now.draft_version_number) == (None, None)
    assert await version(workflows, acme, created.id, "live") == published
    with pytest.raises(NotFoundError, match="has no draft"):
        await publish(workflows, acme, created.id, T0 + 6)


async def test_editing_after_a_publish_starts_version_two_and_leaves_one_frozen(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    live = await publish(workflows, acme, created.id, T0 + 1)
    second = await draft(workflows, acme, created.id, V2, T0 + 2)
    again = await draft(workflows, acme, created.id, V2 | {"edited": True}, T0 + 3)
    assert second.id != live.id
    assert (second.number, second.state, second.live) == (2, VersionState.DRAFT, False)
    assert again.id == second.id
    now = await workflow(workflows, acme, created.id)
    assert (now.status, now.live_version_number, now.draft_version_number) == ("published", 1, 2)
    frozen = await version(workflows, acme, created.id, live.id)
    assert (frozen.document, frozen.state, frozen.updated_at) == (V1, VersionState.PUBLISHED, T0)
    assert (await version(workflows, acme, created.id, "live")).id == live.id


async def test_publishing_version_two_leaves_version_one_as_it_was(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    first = await publish(workflows, acme, created.id, T0 + 1)
    await draft(workflows, acme, created.id, V2, T0 + 2)
    second = await publish(workflows, acme, created.id, T0 + 3, event="renamed")
    now = await workflow(workflows, acme, created.id)
    assert (now.live_version_id, now.live_version_number, now.event) == (second.id, 2, "renamed")
    listed = await workflows.list_versions(org_id=acme.id, workflow_id=created.id)
    assert [(v.number, v.state, v.live) for v in listed] == [
        (2, VersionState.PUBLISHED, True),
        (1, VersionState.PUBLISHED, False),
    ]
    assert (await version(workflows, acme, created.id, first.id)).document == V1


async def test_a_draft_saved_after_it_was_checked_is_not_published(
    service_store: ServiceStore, acme: Organization
) -> None:
    # The API checks the draft, then publishes: a save in between must not go live unchecked.
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    live = await publish(workflows, acme, created.id, T0 + 1)
    checked = await draft(workflows, acme, created.id, V2, T0 + 2)
    saved = await draft(workflows, acme, created.id, V2 | {"unchecked": True}, T0 + 3)
    before = await workflow(workflows, acme, created.id)
    with pytest.raises(ConflictError, match="was saved while it was being checked"):
        await workflows.publish(
            org_id=acme.id,
            workflow_id=created.id,
            draft_id=checked.id,
            checked=checked.document,
            event="signup",
            by="key_3",
            now=T0 + 4,
        )
    assert await workflow(workflows, acme, created.id) == before
    assert await version(workflows, acme, created.id, "draft") == saved
    assert (await version(workflows, acme, created.id, "live")).id == live.id


async def test_the_fence_tells_json_types_apart(
    service_store: ServiceStore, acme: Organization
) -> None:
    # In Python 1 == 1.0 == True; as JSON they are three documents, checked differently.
    workflows = service_store.workflows
    created = await workflows.create_workflow(
        org_id=acme.id, name="n", document={"retry": 1}, by=None, now=T0
    )
    for changed in ({"retry": True}, {"retry": 1.0}):
        await draft(workflows, acme, created.id, changed, T0 + 1)
        with pytest.raises(ConflictError):
            await workflows.publish(
                org_id=acme.id,
                workflow_id=created.id,
                draft_id=created.draft_version_id or "",
                checked={"retry": 1},
                event=None,
                by=None,
                now=T0 + 2,
            )
    assert (await workflow(workflows, acme, created.id)).status is WorkflowStatus.DRAFT


async def test_a_save_of_the_same_document_does_not_stop_its_publish(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    checked = await version(workflows, acme, created.id, "draft")
    await draft(workflows, acme, created.id, V1, T0 + 1)
    published = await workflows.publish(
        org_id=acme.id,
        workflow_id=created.id,
        draft_id=checked.id,
        checked=checked.document,
        event=None,
        by=None,
        now=T0 + 2,
    )
    assert (published.id, published.document, published.updated_at) == (checked.id, V1, T0 + 1)


async def test_a_draft_published_since_it_was_read_is_not_published_again(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    checked = await version(workflows, acme, created.id, "draft")
    await publish(workflows, acme, created.id, T0 + 1)
    await draft(workflows, acme, created.id, V1, T0 + 2)  # version 2, the same document
    with pytest.raises(ConflictError):
        await workflows.publish(
            org_id=acme.id,
            workflow_id=created.id,
            draft_id=checked.id,
            checked=checked.document,
            event=None,
            by=None,
            now=T0 + 3,
        )
    assert (await workflow(workflows, acme, created.id)).live_version_number == 1


async def test_saves_racing_publishes_never_put_an_unchecked_document_live(
    service_store: ServiceStore, acme: Organization
) -> None:
    # On PostgreSQL the two writes may run in concurrent transactions.
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    went_live: dict[str, Any] = {}
    for round_ in range(12):
        checked = await version(workflows, acme, created.id, "draft")
        published, _saved = await asyncio.gather(
            workflows.publish(
                org_id=acme.id,
                workflow_id=created.id,
                draft_id=checked.id,
                checked=checked.document,
                event=None,
                by=None,
                now=T0 + round_,
            ),
            draft(workflows, acme, created.id, {"round": round_}, T0 + round_),
            return_exceptions=True,
        )
        if isinstance(published, VersionInfo):
            went_live[published.id] = checked.document
        else:
            assert isinstance(published, ConflictError), published
        # A draft exists either way: the save replaced it, or started the next one.
        await version(workflows, acme, created.id, "draft")
    listed = await workflows.list_versions(org_id=acme.id, workflow_id=created.id)
    for entry in listed:
        if entry.state is VersionState.PUBLISHED:
            assert (await version(workflows, acme, created.id, entry.id)).document == went_live[
                entry.id
            ]
    assert {v.id for v in listed if v.state is VersionState.PUBLISHED} == set(went_live)


async def test_an_archived_workflow_cannot_be_published_until_unarchived(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    archived = await workflows.set_archived(
        org_id=acme.id, workflow_id=created.id, archived=True, now=T0 + 1
    )
    assert (archived.status, archived.archived_at, archived.updated_at) == (
        WorkflowStatus.ARCHIVED,
        T0 + 1,
        T0 + 1,
    )
    again = await workflows.set_archived(
        org_id=acme.id, workflow_id=created.id, archived=True, now=T0 + 2
    )
    assert (again.archived_at, again.updated_at) == (T0 + 1, T0 + 1)
    with pytest.raises(ConflictError, match="archived"):
        await publish(workflows, acme, created.id, T0 + 3)
    assert (await version(workflows, acme, created.id, "draft")).state is VersionState.DRAFT
    back = await workflows.set_archived(
        org_id=acme.id, workflow_id=created.id, archived=False, now=T0 + 4
    )
    assert (back.status, back.archived_at) == (WorkflowStatus.DRAFT, None)
    assert (await publish(workflows, acme, created.id, T0 + 5)).live


async def test_a_listing_filters_by_status_newest_first(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    workflows = service_store.workflows
    drafted = await new_workflow(workflows, acme, now=T0)
    published = await new_workflow(workflows, acme, now=T0 + 1)
    await publish(workflows, acme, published.id, T0 + 1)
    edited = await new_workflow(workflows, acme, now=T0 + 2)
    await publish(workflows, acme, edited.id, T0 + 2)
    await draft(workflows, acme, edited.id, V2, T0 + 2)
    archived = await new_workflow(workflows, acme, now=T0 + 3)
    await publish(workflows, acme, archived.id, T0 + 3)
    await workflows.set_archived(org_id=acme.id, workflow_id=archived.id, archived=True, now=T0 + 3)
    await new_workflow(workflows, bravo, now=T0 + 4)

    async def ids(status: WorkflowStatus | None) -> list[str]:
        found = await workflows.list_workflows(org_id=acme.id, status=status)
        return [info.id for info in found]

    assert await ids(None) == [archived.id, edited.id, published.id, drafted.id]
    assert await ids(WorkflowStatus.DRAFT) == [drafted.id]
    assert await ids(WorkflowStatus.PUBLISHED) == [edited.id, published.id]
    assert await ids(WorkflowStatus.ARCHIVED) == [archived.id]
    page = await workflows.list_workflows(org_id=acme.id, limit=2, before_id=edited.id)
    assert [info.id for info in page] == [published.id, drafted.id]
    [listed_edited] = [
        i for i in await workflows.list_workflows(org_id=acme.id) if i.id == edited.id
    ]
    assert (listed_edited.live_version_number, listed_edited.draft_version_number) == (1, 2)
    assert listed_edited == await workflow(workflows, acme, edited.id)


async def test_another_organization_cannot_reach_a_workflow(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    workflows = service_store.workflows
    created = await new_workflow(workflows, acme)
    with pytest.raises(NotFoundError):
        await workflow(workflows, bravo, created.id)
    with pytest.raises(NotFoundError):
        await draft(workflows, bravo, created.id, V2, T0 + 1)
    with pytest.raises(NotFoundError):
        await workflows.publish(
            org_id=bravo.id,
            workflow_id=created.id,
            draft_id=created.draft_version_id or "",
            checked=V1,
            event=None,
            by=None,
            now=T0 + 1,
        )
    with pytest.raises(NotFoundError):
        await workflows.list_versions(org_id=bravo.id, workflow_id=created.id)
    with pytest.raises(NotFoundError):
        await version(workflows, bravo, created.id, "draft")
    with pytest.raises(NotFoundError):
        await workflows.set_archived(
            org_id=bravo.id, workflow_id=created.id, archived=True, now=T0 + 1
        )
    assert await workflows.list_workflows(org_id=bravo.id) == []
    assert await workflow(workflows, acme, created.id) == created
    assert (await version(workflows, acme, created.id, "draft")).document == V1


async def test_a_version_of_another_workflow_is_not_found_through_this_one(
    service_store: ServiceStore, acme: Organization
) -> None:
    workflows = service_store.workflows
    one = await new_workflow(workflows, acme)
    two = await new_workflow(workflows, acme)
    with pytest.raises(NotFoundError):
        await version(workflows, acme, one.id, two.draft_version_id or "")
