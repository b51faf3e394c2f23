"""`DeliveryRecords` on SQLite or PostgreSQL (through `SqlStore`'s threads).

The SQL is in `delivery_sql.py`. Admissions are group-committed with the
worker's claims and results (`SqlStore.write_unsynced`, each in its own
savepoint): a transaction of its own per admission cost more than the rest of
the attempt (docs/benchmarks.md). Limit changes and resuming a host are service
writes (group-committed too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callout.store import delivery_sql
from callout.store.delivery import Admission, AdmitTicket, HostLimit, HostState

if TYPE_CHECKING:
    from callout.store.sql_store import SqlStore


class SqlDelivery:
    """Per-host limits, breaker states and admissions in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def host_limits(self, *, org_id: str) -> list[HostLimit]:
        """Return an organization's limit rows, by host."""
        return await self._store.read(delivery_sql.list_host_limits, org_id=org_id)

    async def set_host_limit(self, limit: HostLimit) -> HostLimit:
        """Create or replace the limit row of `limit.host`, stamped with the database's time."""
        return await self._store.write(delivery_sql.set_host_limit, limit)

    async def delete_host_limit(self, *, org_id: str, host: str) -> None:
        """Remove a host's limit row; NotFoundError when it has none."""
        await self._store.write(delivery_sql.delete_host_limit, org_id=org_id, host=host)

    async def host_states(self, *, org_id: str) -> list[HostState]:
        """Return every host with a breaker state, slots or waiting step runs, by host."""
        return await self._store.read(delivery_sql.host_states, org_id=org_id)

    async def troubled_hosts(self, *, org_id: str) -> dict[str, HostState]:
        """Return the hosts whose breaker is not closed or that have failures counted."""
        return await self._store.read(delivery_sql.troubled_hosts, org_id=org_id)

    async def admit(self, ticket: AdmitTicket) -> Admission:
        """Decide, in one transaction holding the host's row, whether the attempt may go."""
        return await self._store.write_unsynced(delivery_sql.admit, ticket)

    async def resume_host(self, *, org_id: str, host: str) -> HostState:
        """Close a host's breaker now and make the step runs waiting for it due at once."""
        return await self._store.write(delivery_sql.resume_host, org_id=org_id, host=host)

    async def paused_hosts(self) -> list[HostState]:
        """Return the hosts of every organization whose breaker is open or half open."""
        return await self._store.read(delivery_sql.paused_hosts)
