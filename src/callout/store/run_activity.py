"""Run activity in SQL: an organization's runs counted by workflow, time bucket and status.

One grouped query over `ix_runs_org_created` answers the whole workflow list (the
dashboard's charts), however many workflows the organization has: the counting
happens in the database, so a busy day costs one row per workflow, hour and status.
"""

from __future__ import annotations

import sqlalchemy as sa

from callout.store.run_reading import ActivityCount
from callout.store.tables import runs


def _bucket(conn: sa.Connection, since: float, bucket_seconds: int) -> sa.ColumnElement[int]:
    """Select the bucket a run's `created_at` falls in: floor((created_at - since) / size)."""
    offset = (runs.c.created_at - since) / float(bucket_seconds)
    if conn.dialect.name == "sqlite":
        # SQLite truncates toward zero, which is floor for the offsets selected (>= 0);
        # its floor() exists only when built with the math functions.
        return sa.cast(offset, sa.Integer)
    return sa.cast(sa.func.floor(offset), sa.Integer)


def read_activity(  # noqa: PLR0913 - the query's parameters, all keyword-only
    conn: sa.Connection,
    *,
    org_id: str,
    since: float,
    bucket_seconds: int,
    buckets: int,
    workflow_id: str | None = None,
) -> list[ActivityCount]:
    """Return the non-zero counts of runs by workflow, bucket and status (run_reading.py)."""
    until = since + bucket_seconds * buckets
    conditions = [
        runs.c.org_id == org_id,
        runs.c.created_at >= since,
        runs.c.created_at < until,
        runs.c.workflow_id.is_not(None),
    ]
    if workflow_id is not None:
        conditions.append(runs.c.workflow_id == workflow_id)
    # Bucketed in a subquery, grouped outside: PostgreSQL would not see two renderings
    # of the bucket expression (each with its own parameters) as the same expression.
    bucketed = (
        sa.select(
            runs.c.workflow_id,
            runs.c.status,
            _bucket(conn, since, bucket_seconds).label("bucket"),
        )
        .where(*conditions)
        .subquery()
    )
    query = (
        sa.select(
            bucketed.c.workflow_id,
            bucketed.c.bucket,
            bucketed.c.status,
            sa.func.count().label("runs"),
        )
        .group_by(bucketed.c.workflow_id, bucketed.c.bucket, bucketed.c.status)
        .order_by(bucketed.c.workflow_id, bucketed.c.bucket, bucketed.c.status)
    )
    return [
        ActivityCount(
            workflow_id=row.workflow_id,
            bucket=int(row.bucket),
            status=row.status,
            runs=int(row.runs),
        )
        for row in conn.execute(query)
    ]
