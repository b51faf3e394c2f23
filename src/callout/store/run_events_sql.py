"""Run events in SQL: notification endpoints, the system workflow, and dispatching the outbox.

Each function is one transaction's worth (`SqlRunEvents` runs it in a thread).
Dispatch takes the oldest events (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
workers dispatching at once share them out; SQLite has one writer), drops those
of runs of a system workflow (the loop guard), starts one run of the system
workflow per subscribed enabled endpoint, and deletes the events it took, all
in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from callout.model.ids import new_id
from callout.store.database_clock import database_now_number
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.run_event_dispatch import ENDPOINT_ID_PREFIX, of_system_workflow, subscribed
from callout.store.run_events import (
    SYSTEM_WORKFLOW_NAME,
    Endpoint,
    EndpointChanges,
    EndpointFormat,
    EventType,
    NotificationRun,
    RunEvent,
)
from callout.store.run_records import insert_run
from callout.store.tables import (
    notification_endpoints,
    organizations,
    run_events,
    runs,
    workflows,
)


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        url=row.url,
        events=tuple(EventType(kind) for kind in row.events),
        body_format=EndpointFormat(row.format),
        enabled=bool(row.enabled),
        secret_name=row.secret_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(conn: sa.Connection, org_id: str, endpoint_id: str) -> Any:
    row = conn.execute(
        sa.select(notification_endpoints)
        .where(notification_endpoints.c.id == endpoint_id)
        .where(notification_endpoints.c.org_id == org_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no notification endpoint {endpoint_id}")
    return row


def _name_taken(conn: sa.Connection, org_id: str, name: str, *, other_than: str = "") -> bool:
    return (
        conn.execute(
            sa.select(notification_endpoints.c.id)
            .where(notification_endpoints.c.org_id == org_id)
            .where(notification_endpoints.c.name == name)
            .where(notification_endpoints.c.id != other_than)
        ).first()
        is not None
    )


def _taken(name: str) -> ConflictError:
    return ConflictError(f"a notification endpoint named {name!r} exists; choose another name")


def list_endpoints(conn: sa.Connection, *, org_id: str) -> list[Endpoint]:
    """Return an organization's endpoints, by name."""
    rows = conn.execute(
        sa.select(notification_endpoints)
        .where(notification_endpoints.c.org_id == org_id)
        .order_by(notification_endpoints.c.name)
    ).all()
    return [_endpoint(row) for row in rows]


def get_endpoint(conn: sa.Connection, *, org_id: str, endpoint_id: str) -> Endpoint:
    """Return one endpoint. Raises NotFoundError."""
    return _endpoint(_row(conn, org_id, endpoint_id))


def create_endpoint(  # noqa: PLR0913 - what an endpoint is
    conn: sa.Connection,
    *,
    org_id: str,
    name: str,
    url: str,
    events: tuple[EventType, ...],
    body_format: EndpointFormat,
    secret_name: str,
) -> Endpoint:
    """Record an endpoint, enabled. Raises NotFoundError (no organization) or ConflictError."""
    organization = sa.select(organizations.c.id).where(organizations.c.id == org_id)
    if conn.execute(organization).first() is None:
        raise NotFoundError(f"no organization {org_id}")
    if _name_taken(conn, org_id, name):
        raise _taken(name)
    now = database_now_number(conn)
    endpoint_id = new_id(ENDPOINT_ID_PREFIX, now=now)
    try:
        conn.execute(
            notification_endpoints.insert().values(
                id=endpoint_id,
                org_id=org_id,
                name=name,
                url=url,
                events=[kind.value for kind in events],
                format=body_format.value,
                enabled=True,
                secret_name=secret_name,
                created_at=now,
                updated_at=now,
            )
        )
    except sa.exc.IntegrityError as exc:  # the same name, recorded by a racing transaction
        raise _taken(name) from exc
    return get_endpoint(conn, org_id=org_id, endpoint_id=endpoint_id)


def update_endpoint(
    conn: sa.Connection, *, org_id: str, endpoint_id: str, changes: EndpointChanges
) -> Endpoint:
    """Change an endpoint. Raises NotFoundError, or ConflictError for a taken name."""
    row = _row(conn, org_id, endpoint_id)
    values: dict[str, Any] = {}
    if changes.name is not None and changes.name != row.name:
        if _name_taken(conn, org_id, changes.name, other_than=endpoint_id):
            raise _taken(changes.name)
        values["name"] = changes.name
    if changes.url is not None:
        values["url"] = changes.url
    if changes.events is not None:
        values["events"] = [kind.value for kind in changes.events]
    if changes.body_format is not None:
        values["format"] = changes.body_format.value
    if changes.enabled is not None:
        values["enabled"] = changes.enabled
    if values:
        try:
            conn.execute(
                sa.update(notification_endpoints)
                .where(notification_endpoints.c.id == endpoint_id)
                .values(**values, updated_at=database_now_number(conn))
            )
        except sa.exc.IntegrityError as exc:
            raise _taken(changes.name or row.name) from exc
    return get_endpoint(conn, org_id=org_id, endpoint_id=endpoint_id)


def delete_endpoint(conn: sa.Connection, *, org_id: str, endpoint_id: str) -> None:
    """Remove an endpoint (the runs that told it stay). Raises NotFoundError."""
    removed = conn.execute(
        sa.delete(notification_endpoints)
        .where(notification_endpoints.c.id == endpoint_id)
        .where(notification_endpoints.c.org_id == org_id)
    )
    if removed.rowcount == 0:
        raise NotFoundError(f"no notification endpoint {endpoint_id}")


def wanted_events(conn: sa.Connection, *, org_id: str) -> frozenset[EventType]:
    """Return the event types some enabled endpoint of the organization wants."""
    wanted: set[EventType] = set()
    for kinds in conn.execute(
        sa.select(notification_endpoints.c.events)
        .where(notification_endpoints.c.org_id == org_id)
        .where(notification_endpoints.c.enabled.is_(True))
    ).scalars():
        wanted.update(EventType(kind) for kind in kinds)
    return frozenset(wanted)


def _system_ids(conn: sa.Connection, org_ids: Iterable[str]) -> dict[str, str]:
    """Return the system workflow of each organization that has one."""
    found: dict[str, str] = {}
    for row in conn.execute(
        sa.select(workflows.c.org_id, workflows.c.id)
        .where(workflows.c.org_id.in_(sorted(set(org_ids))))
        .where(workflows.c.system.is_(True))
        .order_by(workflows.c.id)
    ):
        found.setdefault(row.org_id, row.id)  # one per organization; the oldest if ever two
    return found


def find_system_workflow(conn: sa.Connection, *, org_id: str) -> str | None:
    """Return the id of the organization's system workflow, or None before it is recorded."""
    return _system_ids(conn, [org_id]).get(org_id)


def record_system_workflows(conn: sa.Connection, org_ids: Iterable[str]) -> dict[str, str]:
    """Return each organization's system workflow, recording those missing (race-safe).

    No unique index says "one per organization": the organization's row is locked
    first (PostgreSQL; SQLite has one writer), in id order so that two dispatchers
    cannot wait on each other, and the workflow looked for again under the lock.
    """
    wanted = sorted(set(org_ids))
    found = _system_ids(conn, wanted)
    for org_id in (org_id for org_id in wanted if org_id not in found):
        locked = conn.execute(
            sa.select(organizations.c.id)
            .where(organizations.c.id == org_id)
            .with_for_update(key_share=True)  # FOR NO KEY UPDATE: inserts that refer to it go on
        ).first()
        if locked is None:
            raise NotFoundError(f"no organization {org_id}")
        again = find_system_workflow(conn, org_id=org_id)
        if again is None:
            now = database_now_number(conn)
            again = new_id("wfl", now=now)
            conn.execute(
                workflows.insert().values(
                    id=again,
                    org_id=org_id,
                    name=SYSTEM_WORKFLOW_NAME,
                    system=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        found[org_id] = again
    return found


def has_events(conn: sa.Connection) -> bool:
    """Say whether any event waits (a read: a poll that finds none takes no write lock)."""
    return conn.execute(sa.select(run_events.c.id).limit(1)).first() is not None


def _taken_events(conn: sa.Connection, limit: int) -> list[tuple[RunEvent, bool]]:
    """Take the oldest events, each with whether its run is one of a system workflow."""
    query = (
        sa.select(
            run_events,
            runs.c.workflow_id,
            runs.c.workflow_name,
            workflows.c.system,
        )
        .select_from(
            run_events.outerjoin(runs, runs.c.id == run_events.c.run_id).outerjoin(
                workflows, workflows.c.id == runs.c.workflow_id
            )
        )
        .order_by(run_events.c.created_at, run_events.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Another dispatcher's events are skipped, not waited for (SQLite ignores this).
        query = query.with_for_update(of=run_events, skip_locked=True)
    return [
        (
            RunEvent(
                id=row.id,
                org_id=row.org_id,
                type=EventType(row.type),
                created_at=row.created_at,
                run_id=row.run_id,
                workflow_id=row.workflow_id,
                workflow_name=row.workflow_name,
                step_id=row.step_id,
                error=row.error,
                host=row.host,
                detail=row.detail,
            ),
            bool(row.system),
        )
        for row in conn.execute(query)
    ]


def dispatch(conn: sa.Connection, *, limit: int, build: NotificationRun) -> int:
    """Turn up to `limit` events into runs and delete them; return how many were taken."""
    taken = _taken_events(conn, limit)
    if not taken:
        return 0
    kept = [event for event, system in taken if not system]  # the loop guard
    org_ids = sorted({event.org_id for event in kept})
    endpoints = [
        _endpoint(row)
        for row in conn.execute(
            sa.select(notification_endpoints)
            .where(notification_endpoints.c.org_id.in_(org_ids))
            .where(notification_endpoints.c.enabled.is_(True))
        )
    ]
    pairs = subscribed(kept, endpoints)
    systems = record_system_workflows(conn, {event.org_id for event, _ in pairs})
    for event, endpoint in pairs:
        insert_run(conn, of_system_workflow(build(event, endpoint), event, systems[event.org_id]))
    conn.execute(sa.delete(run_events).where(run_events.c.id.in_([event.id for event, _ in taken])))
    return len(taken)
