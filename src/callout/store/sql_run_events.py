"""`RunEventRecords` on SQLite or PostgreSQL (through `SqlStore`'s threads and group commit).

Reads run in a reader thread; writes in the shared group commit, each in its own
savepoint. The SQL is in `run_events_sql.py`. A dispatch first asks a reader
whether any event waits, so a worker polling an empty outbox twice a second
never takes SQLite's write lock for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callout.store import run_events_sql
from callout.store.run_events import (
    Endpoint,
    EndpointChanges,
    EndpointFormat,
    EventType,
    NotificationRun,
)

if TYPE_CHECKING:
    from callout.store.sql_store import SqlStore


class SqlRunEvents:
    """Notification endpoints and the outbox of run events in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def list_endpoints(self, *, org_id: str) -> list[Endpoint]:
        """Return an organization's endpoints, by name."""
        return await self._store.read(run_events_sql.list_endpoints, org_id=org_id)

    async def get_endpoint(self, *, org_id: str, endpoint_id: str) -> Endpoint:
        """Return one endpoint. Raises NotFoundError."""
        return await self._store.read(
            run_events_sql.get_endpoint, org_id=org_id, endpoint_id=endpoint_id
        )

    async def create_endpoint(  # noqa: PLR0913 - what an endpoint is
        self,
        *,
        org_id: str,
        name: str,
        url: str,
        events: tuple[EventType, ...],
        body_format: EndpointFormat,
        secret_name: str,
    ) -> Endpoint:
        """Record an endpoint (enabled). Raises ConflictError when the name is taken."""
        return await self._store.write(
            run_events_sql.create_endpoint,
            org_id=org_id,
            name=name,
            url=url,
            events=events,
            body_format=body_format,
            secret_name=secret_name,
        )

    async def update_endpoint(
        self, *, org_id: str, endpoint_id: str, changes: EndpointChanges
    ) -> Endpoint:
        """Change an endpoint. Raises NotFoundError, or ConflictError for a taken name."""
        return await self._store.write(
            run_events_sql.update_endpoint,
            org_id=org_id,
            endpoint_id=endpoint_id,
            changes=changes,
        )

    async def delete_endpoint(self, *, org_id: str, endpoint_id: str) -> None:
        """Remove an endpoint (its runs stay). Raises NotFoundError."""
        await self._store.write(
            run_events_sql.delete_endpoint, org_id=org_id, endpoint_id=endpoint_id
        )

    async def system_workflow_id(self, *, org_id: str) -> str:
        """Return the organization's system workflow, recording it the first time (once)."""
        found = await self._store.read(run_events_sql.find_system_workflow, org_id=org_id)
        if found is not None:
            return found
        recorded = await self._store.write(run_events_sql.record_system_workflows, [org_id])
        return recorded[org_id]

    async def wanted_events(self, *, org_id: str) -> frozenset[EventType]:
        """Return the event types some enabled endpoint of the organization wants."""
        return await self._store.read(run_events_sql.wanted_events, org_id=org_id)

    async def dispatch(self, *, limit: int, build: NotificationRun) -> int:
        """Turn up to `limit` events into runs and remove them, in one transaction.

        The runs' commit wakes listening workers (PostgreSQL), like a trigger's.
        """
        if not await self._store.read(run_events_sql.has_events):
            return 0
        return await self._store.write(run_events_sql.dispatch, limit=limit, build=build)
