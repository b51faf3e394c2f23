"""`RunReading` on SQLite or PostgreSQL (through `SqlStore`'s reader threads).

The SQL, which cuts the run view in the database, is in `run_view.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callout.store import run_view
from callout.store.protocol import StoredRun, StoredStepRun
from callout.store.run_reading import RunView

if TYPE_CHECKING:
    from callout.store.sql_store import SqlStore


class SqlRunReading:
    """The API's reads of runs in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def run_summary(self, run_id: str) -> StoredRun:
        """Return a run without its steps, trigger or document."""
        return await self._store.read(run_view.read_run_summary, run_id)

    async def run_view(self, run_id: str) -> RunView:
        """Return the run view, cut to size in SQL, read in one snapshot."""
        return await self._store.read(run_view.read_run_view, run_id)

    async def step_run(self, run_id: str, step_run_id: str) -> StoredStepRun:
        """Return one step run of a run whole."""
        return await self._store.read(run_view.read_step_run, run_id, step_run_id)

    async def trigger(self, run_id: str) -> Any:
        """Return a run's whole trigger payload."""
        return await self._store.read(run_view.read_trigger, run_id)
