"""`RunReading` on SQLite or PostgreSQL (through `SqlStore`'s threads and group commit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callout.store.sql_store import SqlStore


class SqlRunReading:
    """The API's reads of runs in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
