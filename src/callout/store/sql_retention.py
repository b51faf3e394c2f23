"""`RetentionRecords` on SQLite or PostgreSQL (through `SqlStore`'s threads).

Settings and the lease are service writes (group-committed). Each batch of
pruning is a transaction of its own (`SqlStore.write_alone`), never shared with
a group commit: when it ends, the trigger calls and results waiting for the
writer go first.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from callout.store import retention_sql
from callout.store.retention import (
    PruneBatch,
    PruneCount,
    PruneKind,
    Retention,
    RetentionScope,
    RunPosition,
)

if TYPE_CHECKING:
    from callout.store.sql_store import SqlStore


class SqlRetention:
    """Retention settings and pruning in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def get_retention(self, *, org_id: str) -> Retention:
        """Return an organization's setting. Raises NotFoundError."""
        return await self._store.read(retention_sql.get_retention, org_id=org_id)

    async def set_retention(self, *, org_id: str, retention: Retention, now: float) -> Retention:
        """Replace an organization's setting. Raises NotFoundError."""
        return await self._store.write(
            retention_sql.set_retention, org_id=org_id, retention=retention, now=now
        )

    async def scopes(self) -> list[RetentionScope]:
        """Return every organization with its setting, then the runs of no organization."""
        return await self._store.read(retention_sql.scopes)

    async def prunable(self, scope: RetentionScope) -> PruneCount:
        """Count what a pass would remove of `scope` now."""
        return await self._store.read(retention_sql.prunable, scope)

    async def prune_batch(
        self,
        scope: RetentionScope,
        kind: PruneKind,
        *,
        limit: int,
        after: RunPosition | None = None,
    ) -> PruneBatch:
        """Remove at most `limit` rows of `kind` from `scope`, in a transaction of its own."""
        write = self._store.write_alone
        if kind is PruneKind.RUNS:
            return await write(retention_sql.delete_runs, scope, limit=limit, after=after)
        if kind is PruneKind.TRIGGER_CALLS:
            return await write(retention_sql.delete_calls, scope, limit=limit)
        if kind is PruneKind.BODIES:
            return await write(retention_sql.remove_bodies_batch, scope, limit=limit)
        return await write(retention_sql.expire_keys, scope, limit=limit)

    async def take_prune_lease(self, holder: str, *, hold_for: float, every: float | None) -> bool:
        """Take (or renew) the prune lease; False while another holds it or it is not time."""
        return await self._store.write_alone(
            retention_sql.take_lease, holder, hold_for=hold_for, every=every
        )

    async def end_prune_lease(self, holder: str, *, finished: bool) -> None:
        """Give the prune lease back."""
        await self._store.write_alone(retention_sql.end_lease, holder, finished=finished)

    async def vacuum(self) -> None:
        """SQLite only: rewrite the file without its free pages, and give them back.

        VACUUM holds the write lock while it copies the database, and writes the
        copy through the WAL: the checkpoint after it moves the pages back and
        truncates the WAL to nothing.
        """
        engine = self._store.engine
        if engine.dialect.name != "sqlite" or engine.url.database is None:
            return
        await asyncio.to_thread(_vacuum, Path(engine.url.database))


def _vacuum(path: Path) -> None:
    # A connection of its own: VACUUM cannot run inside a transaction, and the store's
    # writer connection begins one for every statement.
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def sqlite_file_bytes(engine: sa.Engine) -> int | None:
    """Return the bytes a SQLite store takes on disk (the file and its WAL), or None."""
    if engine.dialect.name != "sqlite" or engine.url.database is None:
        return None
    path = Path(engine.url.database)
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
