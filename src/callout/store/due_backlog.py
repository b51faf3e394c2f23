"""The due backlog for `/metrics`: how many step runs are due now (up to a cap), and the oldest.

Read when Prometheus scrapes, so it must stay cheap however large the table:
the count stops at `cap` rows (a count of every due row is a scan of them all:
with a million due, about 0.1 s on SQLite and 1 to 2 s on PostgreSQL; capped at
10,000, a few ms and about 20 ms: docs/metrics.md), and the oldest due time is
`min(due_at)`, one probe of the `due_at` index.
Due means what a claim means by it (`claims.py`): `due_at <=` the database's
now, expired leases included.
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa

from callout.store.database_clock import database_now
from callout.store.tables import step_runs

BACKLOG_CAP = 10_000
"""Most due step runs the backlog counts; at the cap it reads 'at least this many'."""


class DueBacklog(NamedTuple):
    """Step runs due now (at most the cap), and how long the oldest has been due (s), if any."""

    due: int
    oldest_due_seconds: float | None


def read_due_backlog(conn: sa.Connection, cap: int = BACKLOG_CAP) -> DueBacklog:
    """Count due step runs up to `cap`, and how long the oldest has waited (database clock)."""
    now = database_now(conn)
    due = step_runs.c.due_at
    counted = sa.select(sa.literal(1)).where(due <= now).limit(cap).subquery()
    count = conn.execute(sa.select(sa.func.count()).select_from(counted)).scalar_one()
    # The earliest due_at of all (leases running included): due now only if it is past.
    oldest = conn.execute(sa.select(now - sa.func.min(due)).where(due.is_not(None))).scalar()
    waited = float(oldest) if oldest is not None and float(oldest) >= 0 else None
    return DueBacklog(due=int(count), oldest_due_seconds=waited)
