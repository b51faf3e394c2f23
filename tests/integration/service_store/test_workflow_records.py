"""Workflows and versions: one draft at most; publishing freezes it and makes it live."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from callout.store import SqlStore
from callout.store.organizations import Organization
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.workflows import (
    VersionInfo,
    VersionState,
    WorkflowInfo,
    WorkflowStatus,
    create_workflow,
    get_version,
    get_workflow,
    list_versions,
    list_workflows,
    publish_draft,
    save_draft,
    set_archived,
)
from integration.service_store.seeds import T0, listening_to

V1 = {"name": "signup", "steps": [{"id": "a"}]}
V2 = {"name": "signup", "steps": [{"id": "a"}, {"id": "b"}]}


class Refused(Exception):
    """What a publish check raises to refuse a document."""


def refuse(conn: sa.Connection, document: Any) -> str | None:
    raise Refused("a step is not on this plan")


async def new_workflow(store: SqlStore, org: Organization, *, now: float = T0) -> WorkflowInfo:
    return await store.write(
        create_workflow, org_id=org.id, name="signup", document=V1, by="key_1", now=now
    )


async def draft(
    store: SqlStore, org: Organization, workflow_id: str, document: Any, now: float
) -> VersionInfo:
    return await store.write(
        save_draft,
        org_id=org.id,
        workflow_id=workflow_id,
        name="signup",
        document=document,
        by="key_2",
        now=now,
    )


async def publish(
    store: SqlStore, org: Organization, workflow_id: str, now: float, event: str | None = "signup"
) -> VersionInfo:
    return await store.write(
        publish_draft,
        org_id=org.id,
        workflow_id=workflow_id,
        by="key_3",
        now=now,
        check=listening_to(event),
    )


async def workflow(store: SqlStore, org: Organization, workflow_id: str) -> WorkflowInfo:
    return await store.read(get_workflow, org_id=org.id, workflow_id=workflow_id)


async def version(store: SqlStore, org: Organization, workflow_id: str, which: str) -> VersionInfo:
    return await store.read(get_version, org_id=org.id, workflow_id=workflow_id, version_id=which)


async def test_a_new_workflow_is_a_draft_of_version_one(
    store: SqlStore, org_a: Organization
) -> None:
    created = await new_workflow(store, org_a)
    assert created.id.startswith("wfl_")
    assert (created.org_id, created.name, created.status) == (org_a.id, "signup", "draft")
    assert (created.draft_version_number, created.live_version_id) == (1, None)
    assert (created.event, created.archived_at, created.last_run) == (None, None, None)
    first = await version(store, org_a, created.id, "draft")
    assert (first.id, first.number, first.state, first.live) == (
        created.draft_version_id,
        1,
        VersionState.DRAFT,
        False,
    )
    assert (first.document, first.created_by, first.published_at) == (V1, "key_1", None)


async def test_saving_a_draft_twice_keeps_one_draft(store: SqlStore, org_a: Organization) -> None:
    created = await new_workflow(store, org_a)
    first = await draft(store, org_a, created.id, {"name": "one"}, T0 + 1)
    second = await draft(store, org_a, created.id, {"name": "two"}, T0 + 2)
    assert first.id == second.id == created.draft_version_id
    assert (second.number, second.document) == (1, {"name": "two"})
    assert (second.created_at, second.updated_at, second.updated_by) == (T0, T0 + 2, "key_2")
    listed = await store.read(list_versions, org_id=org_a.id, workflow_id=created.id)
    assert [(v.id, v.number, v.document) for v in listed] == [(first.id, 1, None)]


async def test_publishing_makes_the_draft_live(store: SqlStore, org_a: Organization) -> None:
    created = await new_workflow(store, org_a)
    published = await publish(store, org_a, created.id, T0 + 5)
    assert (published.id, published.number) == (created.draft_version_id, 1)
    assert (published.state, published.live, published.document) == (
        VersionState.PUBLISHED,
        True,
        V1,
    )
    assert (published.published_at, published.published_by) == (T0 + 5, "key_3")
    now = await workflow(store, org_a, created.id)
    assert (now.status, now.event, now.updated_at) == (WorkflowStatus.PUBLISHED, "signup", T0 + 5)
    assert (now.live_version_id, now.live_version_number) == (published.id, 1)
    assert (now.draft_version_id, now.draft_version_number) == (None, None)
    with pytest.raises(NotFoundError, match="has no draft"):
        await publish(store, org_a, created.id, T0 + 6)


async def test_editing_after_a_publish_starts_version_two_and_leaves_one_frozen(
    store: SqlStore, org_a: Organization
) -> None:
    created = await new_workflow(store, org_a)
    live = await publish(store, org_a, created.id, T0 + 1)
    second = await draft(store, org_a, created.id, V2, T0 + 2)
    again = await draft(store, org_a, created.id, V2 | {"edited": True}, T0 + 3)
    assert second.id != live.id
    assert (second.number, second.state, second.live) == (2, VersionState.DRAFT, False)
    assert again.id == second.id
    now = await workflow(store, org_a, created.id)
    assert (now.status, now.live_version_number, now.draft_version_number) == ("published", 1, 2)
    frozen = await version(store, org_a, created.id, live.id)
    assert (frozen.document, frozen.state, frozen.updated_at) == (V1, VersionState.PUBLISHED, T0)
    assert (await version(store, org_a, created.id, "live")).id == live.id


async def test_publishing_version_two_leaves_version_one_as_it_was(
    store: SqlStore, org_a: Organization
) -> None:
    created = await new_workflow(store, org_a)
    first = await publish(store, org_a, created.id, T0 + 1)
    await draft(store, org_a, created.id, V2, T0 + 2)
    second = await publish(store, org_a, created.id, T0 + 3, event="renamed")
    now = await workflow(store, org_a, created.id)
    assert (now.live_version_id, now.live_version_number, now.event) == (second.id, 2, "renamed")
    listed = await store.read(list_versions, org_id=org_a.id, workflow_id=created.id)
    assert [(v.number, v.state, v.live) for v in listed] == [
        (2, VersionState.PUBLISHED, True),
        (1, VersionState.PUBLISHED, False),
    ]
    assert (await version(store, org_a, created.id, first.id)).document == V1


async def test_a_refused_publish_changes_nothing(store: SqlStore, org_a: Organization) -> None:
    created = await new_workflow(store, org_a)
    live = await publish(store, org_a, created.id, T0 + 1)
    pending = await draft(store, org_a, created.id, V2, T0 + 2)
    before = await workflow(store, org_a, created.id)
    with pytest.raises(Refused):
        await store.write(
            publish_draft,
            org_id=org_a.id,
            workflow_id=created.id,
            by="key_3",
            now=T0 + 3,
            check=refuse,
        )
    assert await workflow(store, org_a, created.id) == before
    assert await version(store, org_a, created.id, "draft") == pending
    assert (await version(store, org_a, created.id, "live")).id == live.id


async def test_a_first_publish_refused_leaves_a_draft_workflow(
    store: SqlStore, org_a: Organization
) -> None:
    created = await new_workflow(store, org_a)
    seen: list[Any] = []

    def check(conn: sa.Connection, document: Any) -> str | None:
        seen.append(document)
        raise Refused("no")

    with pytest.raises(Refused):
        await store.write(
            publish_draft, org_id=org_a.id, workflow_id=created.id, by=None, now=T0 + 1, check=check
        )
    assert seen == [V1]
    assert await workflow(store, org_a, created.id) == created


async def test_an_archived_workflow_cannot_be_published_until_unarchived(
    store: SqlStore, org_a: Organization
) -> None:
    created = await new_workflow(store, org_a)
    archived = await store.write(
        set_archived, org_id=org_a.id, workflow_id=created.id, archived=True, now=T0 + 1
    )
    assert (archived.status, archived.archived_at) == (WorkflowStatus.ARCHIVED, T0 + 1)
    again = await store.write(
        set_archived, org_id=org_a.id, workflow_id=created.id, archived=True, now=T0 + 2
    )
    assert again.archived_at == T0 + 1
    with pytest.raises(ConflictError, match="archived"):
        await publish(store, org_a, created.id, T0 + 3)
    assert (await version(store, org_a, created.id, "draft")).state is VersionState.DRAFT
    back = await store.write(
        set_archived, org_id=org_a.id, workflow_id=created.id, archived=False, now=T0 + 4
    )
    assert (back.status, back.archived_at) == (WorkflowStatus.DRAFT, None)
    assert (await publish(store, org_a, created.id, T0 + 5)).live


async def test_a_listing_filters_by_status_newest_first(
    store: SqlStore, org_a: Organization, org_b: Organization
) -> None:
    drafted = await new_workflow(store, org_a, now=T0)
    published = await new_workflow(store, org_a, now=T0 + 1)
    await publish(store, org_a, published.id, T0 + 1)
    edited = await new_workflow(store, org_a, now=T0 + 2)
    await publish(store, org_a, edited.id, T0 + 2)
    await draft(store, org_a, edited.id, V2, T0 + 2)
    archived = await new_workflow(store, org_a, now=T0 + 3)
    await publish(store, org_a, archived.id, T0 + 3)
    await store.write(
        set_archived, org_id=org_a.id, workflow_id=archived.id, archived=True, now=T0 + 3
    )
    await new_workflow(store, org_b, now=T0 + 4)

    async def ids(status: WorkflowStatus | None) -> list[str]:
        found = await store.read(list_workflows, org_id=org_a.id, status=status)
        return [info.id for info in found]

    assert await ids(None) == [archived.id, edited.id, published.id, drafted.id]
    assert await ids(WorkflowStatus.DRAFT) == [drafted.id]
    assert await ids(WorkflowStatus.PUBLISHED) == [edited.id, published.id]
    assert await ids(WorkflowStatus.ARCHIVED) == [archived.id]
    page = await store.read(list_workflows, org_id=org_a.id, limit=2, before_id=edited.id)
    assert [info.id for info in page] == [published.id, drafted.id]


async def test_another_organization_cannot_reach_a_workflow(
    store: SqlStore, org_a: Organization, org_b: Organization
) -> None:
    created = await new_workflow(store, org_a)
    with pytest.raises(NotFoundError):
        await workflow(store, org_b, created.id)
    with pytest.raises(NotFoundError):
        await draft(store, org_b, created.id, V2, T0 + 1)
    with pytest.raises(NotFoundError):
        await publish(store, org_b, created.id, T0 + 1)
    with pytest.raises(NotFoundError):
        await store.read(list_versions, org_id=org_b.id, workflow_id=created.id)
    with pytest.raises(NotFoundError):
        await version(store, org_b, created.id, "draft")
    with pytest.raises(NotFoundError):
        await store.write(
            set_archived, org_id=org_b.id, workflow_id=created.id, archived=True, now=T0 + 1
        )
    assert await store.read(list_workflows, org_id=org_b.id) == []
    assert await workflow(store, org_a, created.id) == created
    assert (await version(store, org_a, created.id, "draft")).document == V1
