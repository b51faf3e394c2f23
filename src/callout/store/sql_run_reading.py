"""`RunReading` on SQLite or PostgreSQL (through `SqlStore`'s reader threads).

The SQL, which cuts the run view in the database, is in `run_view.py`; the SQL that
counts runs for the activity charts, in `run_activity.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callout.store import run_view
from callout.store.protocol import StoredRun, StoredStepRun
from callout.store.run_activity import read_activity
from callout.store.run_reading import ActivityCount, RunView

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

    async def activity(
        self,
        *,
        org_id: str,
        since: float,
        bucket_seconds: int,
        buckets: int,
        workflow_id: str | None = None,
    ) -> list[ActivityCount]:
        """Count an organization's runs by workflow, time bucket and status, in one query."""
        return await self._store.read(
            read_activity,
            org_id=org_id,
            since=since,
            bucket_seconds=bucket_seconds,
            buckets=buckets,
            workflow_id=workflow_id,
        )
