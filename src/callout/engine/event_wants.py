"""The run events each organization wants recorded, read at most once a second per worker.

A result that ends a run, errors a step or pauses a host records its event in
the same transaction (the outbox, store/run_events.py), but only when some
enabled endpoint of the organization wants that type: the worker passes the
wanted types with each result (`FinishedAttempt.events`). An endpoint added or
changed anywhere is seen here within a second (`org_cache.py`). A run of no
organization (`callout run`) wants none.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from callout.engine.org_cache import OrgCache
from callout.store.run_events import EventType, RunEventRecords

NOTHING: frozenset[EventType] = frozenset()


class EventWants:
    """`RunEventRecords.wanted_events`, per organization, at most a second old."""

    def __init__(
        self, records: RunEventRecords, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._records = records
        self._wanted = OrgCache(self._read, monotonic=monotonic)

    async def _read(self, org_id: str) -> frozenset[EventType]:
        return await self._records.wanted_events(org_id=org_id)

    async def of(self, org_id: str | None) -> frozenset[EventType]:
        """Return the event types the organization wants (none for a run of no organization)."""
        if org_id is None:
            return NOTHING
        return await self._wanted.get(org_id)
