"""Workflows and their versions: at most one draft; publishing freezes it and makes it live.

A version's document never changes once published. Editing after a publish
saves a new draft (the next number); runs are pinned to the version that was
live when they started, by id and by a copy of its document.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from callout.model.ids import new_id
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.tables import runs, workflow_versions, workflows
from callout.store.workflow_records import (
    LastRun,
    RunTarget,
    VersionInfo,
    VersionState,
    WorkflowInfo,
    WorkflowStatus,
    same_document,
    system_workflow_refused,
)


def _version(row: Any, live_id: str | None, *, with_document: bool) -> VersionInfo:
    return VersionInfo(
        id=row.id,
        workflow_id=row.workflow_id,
        number=row.number,
        state=VersionState(row.state),
        live=row.id == live_id,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        published_at=row.published_at,
        published_by=row.published_by,
        document=row.document if with_document else None,
    )


def _workflow_row(
    conn: sa.Connection, org_id: str, workflow_id: str, *, for_update: bool = False
) -> Any:
    """Return the workflow's row; `for_update` locks it until the transaction ends.

    Every change to a workflow or its versions locks its row first (PostgreSQL; SQLite
    has one writer), so saves and publishes of one workflow take turns.
    """
    query = (
        sa.select(workflows)
        .where(workflows.c.id == workflow_id)
        .where(workflows.c.org_id == org_id)
    )
    row = conn.execute(query.with_for_update() if for_update else query).one_or_none()
    if row is None:
        raise NotFoundError(f"no workflow {workflow_id}")
    return row


def _editable_row(conn: sa.Connection, org_id: str, workflow_id: str) -> Any:
    """Return the workflow's row, locked, for a change; ConflictError for a system workflow."""
    row = _workflow_row(conn, org_id, workflow_id, for_update=True)
    if row.system:
        raise system_workflow_refused(workflow_id)
    return row


def _infos(conn: sa.Connection, rows: list[Any], *, last_run: bool = True) -> list[WorkflowInfo]:
    """Describe workflows with their live and draft versions (and newest run, if asked)."""
    ids = [row.id for row in rows]
    versions: dict[str, dict[str, tuple[str, int]]] = {}
    for version in conn.execute(
        sa.select(
            workflow_versions.c.workflow_id,
            workflow_versions.c.id,
            workflow_versions.c.number,
            workflow_versions.c.state,
        )
        .where(workflow_versions.c.workflow_id.in_(ids))
        .where(
            sa.or_(
                workflow_versions.c.state == VersionState.DRAFT.value,
                workflow_versions.c.id.in_([row.live_version_id for row in rows]),
            )
        )
    ):
        kind = "draft" if version.state == VersionState.DRAFT.value else "live"
        versions.setdefault(version.workflow_id, {})[kind] = (version.id, version.number)
    last_runs = _last_runs(conn, ids) if last_run else {}
    infos = []
    for row in rows:
        found = versions.get(row.id, {})
        live = found.get("live")
        draft = found.get("draft")
        if row.archived_at is not None:
            status = WorkflowStatus.ARCHIVED
        elif live is not None:
            status = WorkflowStatus.PUBLISHED
        else:
            status = WorkflowStatus.DRAFT
        infos.append(
            WorkflowInfo(
                id=row.id,
                org_id=row.org_id,
                name=row.name,
                status=status,
                event=row.event,
                live_version_id=live[0] if live else None,
                live_version_number=live[1] if live else None,
                draft_version_id=draft[0] if draft else None,
                draft_version_number=draft[1] if draft else None,
                created_at=row.created_at,
                updated_at=row.updated_at,
                archived_at=row.archived_at,
                last_run=last_runs.get(row.id),
                system=bool(row.system),
            )
        )
    return infos


def _last_runs(conn: sa.Connection, ids: list[str]) -> dict[str, LastRun]:
    """Return each workflow's newest run: one index probe per workflow, not a scan."""
    newest = (
        sa.select(runs.c.id)
        .where(runs.c.workflow_id == workflows.c.id)
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    newest_ids = [
        run_id
        for run_id in conn.execute(sa.select(newest).where(workflows.c.id.in_(ids))).scalars()
        if run_id is not None
    ]
    return {
        run.workflow_id: LastRun(run.id, run.status, run.created_at)
        for run in conn.execute(
            sa.select(runs.c.id, runs.c.workflow_id, runs.c.status, runs.c.created_at).where(
                runs.c.id.in_(newest_ids)
            )
        )
    }


def create_workflow(  # noqa: PLR0913
    conn: sa.Connection, *, org_id: str, name: str, document: Any, by: str | None, now: float
) -> WorkflowInfo:
    """Create a workflow whose first version is a draft of `document`."""
    workflow_id = new_id("wfl", now=now)
    conn.execute(
        workflows.insert().values(
            id=workflow_id, org_id=org_id, name=name, created_at=now, updated_at=now
        )
    )
    conn.execute(
        workflow_versions.insert().values(
            id=new_id("wflv", now=now),
            workflow_id=workflow_id,
            number=1,
            state=VersionState.DRAFT.value,
            document=document,
            created_at=now,
            created_by=by,
            updated_at=now,
            updated_by=by,
        )
    )
    return get_workflow(conn, org_id=org_id, workflow_id=workflow_id)


def get_workflow(conn: sa.Connection, *, org_id: str, workflow_id: str) -> WorkflowInfo:
    """Return one workflow of an organization. Raises NotFoundError."""
    return _infos(conn, [_workflow_row(conn, org_id, workflow_id)])[0]


def list_workflows(
    conn: sa.Connection,
    *,
    org_id: str,
    status: WorkflowStatus | None = None,
    limit: int = 50,
    before_id: str | None = None,
) -> list[WorkflowInfo]:
    """Return an organization's workflows, newest first."""
    query = sa.select(workflows).where(workflows.c.org_id == org_id)
    if before_id is not None:
        query = query.where(workflows.c.id < before_id)
    if status is WorkflowStatus.ARCHIVED:
        query = query.where(workflows.c.archived_at.is_not(None))
    elif status is not None:
        query = query.where(workflows.c.archived_at.is_(None))
        live = workflows.c.live_version_id.is_not(None)
        query = query.where(live if status is WorkflowStatus.PUBLISHED else sa.not_(live))
    rows = conn.execute(query.order_by(workflows.c.id.desc()).limit(limit)).all()
    return _infos(conn, list(rows))


def save_draft(  # noqa: PLR0913
    conn: sa.Connection,
    *,
    org_id: str,
    workflow_id: str,
    name: str,
    document: Any,
    by: str | None,
    now: float,
) -> VersionInfo:
    """Replace the draft's document, or start a new draft (the next number) if none."""
    row = _editable_row(conn, org_id, workflow_id)
    draft = conn.execute(
        sa.select(workflow_versions)
        .where(workflow_versions.c.workflow_id == workflow_id)
        .where(workflow_versions.c.state == VersionState.DRAFT.value)
    ).one_or_none()
    if draft is not None:
        conn.execute(
            sa.update(workflow_versions)
            .where(workflow_versions.c.id == draft.id)
            .values(document=document, updated_at=now, updated_by=by)
        )
        version_id = draft.id
    else:
        number = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(workflow_versions.c.number), 0)).where(
                workflow_versions.c.workflow_id == workflow_id
            )
        ).scalar_one()
        version_id = new_id("wflv", now=now)
        conn.execute(
            workflow_versions.insert().values(
                id=version_id,
                workflow_id=workflow_id,
                number=number + 1,
                state=VersionState.DRAFT.value,
                document=document,
                created_at=now,
                created_by=by,
                updated_at=now,
                updated_by=by,
            )
        )
    conn.execute(
        sa.update(workflows).where(workflows.c.id == workflow_id).values(name=name, updated_at=now)
    )
    return get_version(conn, org_id=org_id, workflow_id=row.id, version_id=version_id)


def get_version(
    conn: sa.Connection, *, org_id: str, workflow_id: str, version_id: str
) -> VersionInfo:
    """Return a version with its document; `version_id` may be `draft` or `live`."""
    row = _workflow_row(conn, org_id, workflow_id)
    query = sa.select(workflow_versions).where(workflow_versions.c.workflow_id == workflow_id)
    if version_id == "draft":
        query = query.where(workflow_versions.c.state == VersionState.DRAFT.value)
    elif version_id == "live":
        query = query.where(workflow_versions.c.id == row.live_version_id)
    else:
        query = query.where(workflow_versions.c.id == version_id)
    version = conn.execute(query).one_or_none()
    if version is None:
        what = {"draft": "no draft", "live": "no live version"}.get(
            version_id, f"no version {version_id}"
        )
        raise NotFoundError(f"workflow {workflow_id} has {what}")
    return _version(version, row.live_version_id, with_document=True)


def list_versions(conn: sa.Connection, *, org_id: str, workflow_id: str) -> list[VersionInfo]:
    """Return a workflow's versions, newest first, without documents."""
    row = _workflow_row(conn, org_id, workflow_id)
    versions = conn.execute(
        sa.select(workflow_versions)
        .where(workflow_versions.c.workflow_id == workflow_id)
        .order_by(workflow_versions.c.number.desc())
    ).all()
    return [_version(v, row.live_version_id, with_document=False) for v in versions]


def publish_version(  # noqa: PLR0913 - the draft as checked, and who published it when
    conn: sa.Connection,
    *,
    org_id: str,
    workflow_id: str,
    draft_id: str,
    checked: Any,
    event: str | None,
    by: str | None,
    now: float,
) -> VersionInfo:
    """Freeze the draft `draft_id`, still holding the `checked` document, and make it live.

    The workflow's row is locked while the draft's document is compared with what the
    caller checked, so a save cannot slip in between. Raises NotFoundError, or
    ConflictError (archived; the draft saved or published since it was checked).
    """
    row = _editable_row(conn, org_id, workflow_id)
    if row.archived_at is not None:
        raise ConflictError(f"workflow {workflow_id} is archived; unarchive it to publish")
    draft = conn.execute(
        sa.select(workflow_versions.c.id, workflow_versions.c.document)
        .where(workflow_versions.c.workflow_id == workflow_id)
        .where(workflow_versions.c.state == VersionState.DRAFT.value)
    ).one_or_none()
    if draft is None:
        raise NotFoundError(f"workflow {workflow_id} has no draft")
    if draft.id != draft_id or not same_document(draft.document, checked):
        raise ConflictError(
            f"the draft of workflow {workflow_id} was saved while it was being checked; "
            "publish again"
        )
    conn.execute(
        sa.update(workflow_versions)
        .where(workflow_versions.c.id == draft_id)
        .values(state=VersionState.PUBLISHED.value, published_at=now, published_by=by)
    )
    conn.execute(
        sa.update(workflows)
        .where(workflows.c.id == workflow_id)
        .values(live_version_id=draft_id, event=event, updated_at=now)
    )
    return get_version(conn, org_id=org_id, workflow_id=workflow_id, version_id=draft_id)


def set_archived(
    conn: sa.Connection, *, org_id: str, workflow_id: str, archived: bool, now: float
) -> WorkflowInfo:
    """Archive a workflow (it starts no runs) or bring it back. Idempotent."""
    row = _editable_row(conn, org_id, workflow_id)
    if (row.archived_at is not None) != archived:
        conn.execute(
            sa.update(workflows)
            .where(workflows.c.id == workflow_id)
            .values(archived_at=now if archived else None, updated_at=now)
        )
    return get_workflow(conn, org_id=org_id, workflow_id=workflow_id)


def live_target(conn: sa.Connection, *, org_id: str, workflow_id: str) -> RunTarget:
    """Return a workflow and its live version (with its document), for starting a run."""
    row = _workflow_row(conn, org_id, workflow_id)
    return _target(conn, row)


def _target(conn: sa.Connection, row: Any) -> RunTarget:
    """Return what starting a run needs of a workflow row: its state and live version."""
    live = None
    if row.live_version_id is not None:
        live = conn.execute(
            sa.select(workflow_versions).where(workflow_versions.c.id == row.live_version_id)
        ).one()
    status = (
        WorkflowStatus.ARCHIVED
        if row.archived_at is not None
        else WorkflowStatus.PUBLISHED
        if live is not None
        else WorkflowStatus.DRAFT
    )
    info = WorkflowInfo(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        status=status,
        event=row.event,
        live_version_id=row.live_version_id,
        live_version_number=live.number if live is not None else None,
        draft_version_id=None,  # not read for starting a run
        draft_version_number=None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        system=bool(row.system),
    )
    version = _version(live, row.live_version_id, with_document=True) if live else None
    return RunTarget(info, version)


def subscribed_targets(conn: sa.Connection, *, org_id: str, event: str) -> list[RunTarget]:
    """Return the published, unarchived workflows listening to `event`, with live versions."""
    rows = conn.execute(_subscribed(org_id, event)).all()
    targets = [_target(conn, row) for row in rows]
    return [target for target in targets if target.version is not None]


def subscribed_workflows(conn: sa.Connection, *, org_id: str, event: str) -> list[WorkflowInfo]:
    """Return the unarchived, published workflows whose live version listens to `event`."""
    rows = conn.execute(_subscribed(org_id, event)).all()
    return _infos(conn, list(rows), last_run=False)


def _subscribed(org_id: str, event: str) -> sa.Select[Any]:
    return (
        sa.select(workflows)
        .where(workflows.c.org_id == org_id)
        .where(workflows.c.event == event)
        .where(workflows.c.archived_at.is_(None))
        .where(workflows.c.live_version_id.is_not(None))
        .order_by(workflows.c.id)
    )
