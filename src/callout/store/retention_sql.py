"""Retention in SQL: settings, one bounded batch of pruning, the dry run's counts, the lease.

Each function runs on the connection of one transaction (`SqlRetention` opens
it). A batch selects at most `limit` rows by the index it walks (runs by
organization and creation time, trigger calls likewise), oldest first, and
removes those rows only: the runs' step runs and attempts go with them by their
run's id. Bodies and keys are walked from a mark kept on the organization
(`bodies_removed_before`, `keys_expired_before`), so a pass never reads again
what an earlier pass finished. Every cutoff is the database's time minus a
duration.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from callout.store.body_removal import remove_bodies
from callout.store.database_clock import database_now, database_now_number
from callout.store.protocol import NotFoundError
from callout.store.retention import (
    DAY,
    FINISHED_RUN,
    NO_ORGANIZATION_SCOPE,
    TRIGGER_KEY_LIFETIME,
    PruneBatch,
    PruneCount,
    Retention,
    RetentionScope,
    RunPosition,
    moved_mark,
)
from callout.store.tables import (
    attempts,
    maintenance_leases,
    organizations,
    runs,
    step_runs,
    trigger_calls,
)

PRUNE_LEASE = "prune"


def _retention(row: Any) -> Retention:
    return Retention(days=row.retention_days, body_days=row.body_retention_days)


def get_retention(conn: sa.Connection, *, org_id: str) -> Retention:
    """Return an organization's setting. Raises NotFoundError."""
    row = conn.execute(
        sa.select(organizations.c.retention_days, organizations.c.body_retention_days).where(
            organizations.c.id == org_id
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no organization {org_id}")
    return _retention(row)


def set_retention(
    conn: sa.Connection, *, org_id: str, retention: Retention, now: float
) -> Retention:
    """Replace an organization's setting. Raises NotFoundError."""
    changed = conn.execute(
        sa.update(organizations)
        .where(organizations.c.id == org_id)
        .values(
            retention_days=retention.days,
            body_retention_days=retention.body_days,
            updated_at=now,
        )
    )
    if changed.rowcount == 0:
        raise NotFoundError(f"no organization {org_id}")
    return get_retention(conn, org_id=org_id)


def scopes(conn: sa.Connection) -> list[RetentionScope]:
    """Return every organization with its setting (oldest first), then runs of none."""
    rows = conn.execute(
        sa.select(
            organizations.c.id,
            organizations.c.name,
            organizations.c.retention_days,
            organizations.c.body_retention_days,
        ).order_by(organizations.c.id)
    ).all()
    found = [RetentionScope(row.id, row.name, _retention(row)) for row in rows]
    return [*found, NO_ORGANIZATION_SCOPE]


def _runs_of(scope: RetentionScope) -> sa.ColumnElement[bool]:
    if scope.org_id is None:
        return runs.c.org_id.is_(None)
    return runs.c.org_id == scope.org_id


def _mark(conn: sa.Connection, org_id: str, column: sa.Column[Any]) -> float | None:
    value = conn.execute(sa.select(column).where(organizations.c.id == org_id)).scalar()
    return float(value) if value is not None else None


def _move_mark(conn: sa.Connection, org_id: str, column: str, to: float | None) -> None:
    """Set a mark where `moved_mark` moved it (None: it stays)."""
    if to is not None:
        conn.execute(
            sa.update(organizations).where(organizations.c.id == org_id).values({column: to})
        )


def _oldest_runs(conn: sa.Connection, query: sa.Select[Any], *, limit: int) -> list[Any]:
    """Return at most `limit` of the runs `query` selects, oldest first.

    By creation time alone: the index's own order, so no sort of everything before
    LIMIT. On PostgreSQL a run locked by a racing resume is skipped; a resume that
    comes later waits for the batch (and is refused if it removed the bodies,
    sql_sync.resume): a resumed run never loses what it reads.
    """
    query = query.order_by(runs.c.created_at).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).all())


def delete_runs(
    conn: sa.Connection, scope: RetentionScope, *, limit: int, after: RunPosition | None
) -> PruneBatch:
    """Delete at most `limit` finished runs past retention, oldest first, from `after` on."""
    cutoff = database_now_number(conn) - scope.retention.run_days * DAY
    query = (
        sa.select(runs.c.id, runs.c.created_at)
        .where(_runs_of(scope))
        .where(runs.c.created_at < cutoff)
        .where(runs.c.status.in_(FINISHED_RUN))
    )
    if after is not None:
        query = query.where(runs.c.created_at >= after)
    rows = _oldest_runs(conn, query, limit=limit)
    if not rows:
        return PruneBatch(0)
    ids = [row.id for row in rows]
    of_runs = sa.select(step_runs.c.id).where(step_runs.c.run_id.in_(ids)).scalar_subquery()
    removed_attempts = conn.execute(sa.delete(attempts).where(attempts.c.step_run_id.in_(of_runs)))
    conn.execute(sa.delete(step_runs).where(step_runs.c.run_id.in_(ids)))
    removed = conn.execute(sa.delete(runs).where(runs.c.id.in_(ids)))
    return PruneBatch(
        removed.rowcount,
        attempts=removed_attempts.rowcount,
        last=rows[-1].created_at,
        more=len(rows) == limit,
    )


def delete_calls(conn: sa.Connection, scope: RetentionScope, *, limit: int) -> PruneBatch:
    """Delete at most `limit` of an organization's trigger call records past retention."""
    if scope.org_id is None:
        return PruneBatch(0)
    cutoff = database_now_number(conn) - scope.retention.run_days * DAY
    ids = (
        conn.execute(
            sa.select(trigger_calls.c.id)
            .where(trigger_calls.c.org_id == scope.org_id)
            .where(trigger_calls.c.created_at < cutoff)
            .order_by(trigger_calls.c.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if not ids:
        return PruneBatch(0)
    removed = conn.execute(sa.delete(trigger_calls).where(trigger_calls.c.id.in_(ids)))
    return PruneBatch(removed.rowcount, more=len(ids) == limit)


def remove_bodies_batch(conn: sa.Connection, scope: RetentionScope, *, limit: int) -> PruneBatch:
    """Blank the bodies of at most `limit` finished runs past body retention, oldest first.

    The walk starts at the organization's mark and moves it on: to the cutoff once
    nothing is left before it. A run still running when the mark passes it keeps
    its bodies until the run itself is pruned (docs/ops/retention.md).
    """
    if scope.org_id is None or not scope.retention.removes_bodies_early:
        return PruneBatch(0)
    now = database_now_number(conn)
    cutoff = now - scope.retention.bodies_days * DAY
    query = (
        sa.select(runs.c.id, runs.c.created_at)
        .where(runs.c.org_id == scope.org_id)
        .where(runs.c.created_at < cutoff)
        .where(runs.c.status.in_(FINISHED_RUN))
        .where(runs.c.bodies_removed_at.is_(None))
    )
    mark = _mark(conn, scope.org_id, organizations.c.bodies_removed_before)
    if mark is not None:
        query = query.where(runs.c.created_at >= mark)
    rows = _oldest_runs(conn, query, limit=limit)
    remove_bodies(conn, [row.id for row in rows], now=now)
    created = [row.created_at for row in rows]
    to = moved_mark(created, limit=limit, cutoff=cutoff, mark=mark)
    _move_mark(conn, scope.org_id, "bodies_removed_before", to)
    return PruneBatch(len(rows), more=len(rows) == limit)


def expire_keys(conn: sa.Connection, scope: RetentionScope, *, limit: int) -> PruneBatch:
    """Forget the idempotency keys of at most `limit` trigger calls over 24 h old.

    The call record stays (without its key) until it is pruned with the runs.
    """
    if scope.org_id is None:
        return PruneBatch(0)
    cutoff = database_now_number(conn) - TRIGGER_KEY_LIFETIME
    query = (
        sa.select(trigger_calls.c.id, trigger_calls.c.created_at)
        .where(trigger_calls.c.org_id == scope.org_id)
        .where(trigger_calls.c.created_at < cutoff)
        .where(trigger_calls.c.idempotency_key.is_not(None))
    )
    mark = _mark(conn, scope.org_id, organizations.c.keys_expired_before)
    if mark is not None:
        query = query.where(trigger_calls.c.created_at >= mark)
    rows = conn.execute(query.order_by(trigger_calls.c.created_at).limit(limit)).all()
    if rows:
        conn.execute(
            sa.update(trigger_calls)
            .where(trigger_calls.c.id.in_([row.id for row in rows]))
            .values(idempotency_key=None)
        )
    created = [row.created_at for row in rows]
    to = moved_mark(created, limit=limit, cutoff=cutoff, mark=mark)
    _move_mark(conn, scope.org_id, "keys_expired_before", to)
    return PruneBatch(len(rows), more=len(rows) == limit)


def _count(conn: sa.Connection, query: sa.Select[Any]) -> int:
    return int(conn.execute(query).scalar_one())


def prunable(conn: sa.Connection, scope: RetentionScope) -> PruneCount:
    """Count what a pass would remove of `scope` now (and the old runs it must keep)."""
    now = database_now_number(conn)
    cutoff = now - scope.retention.run_days * DAY
    old = sa.and_(_runs_of(scope), runs.c.created_at < cutoff)
    finished = runs.c.status.in_(FINISHED_RUN)
    count = sa.select(sa.func.count()).select_from(runs)
    result = PruneCount(
        org_id=scope.org_id,
        name=scope.name,
        runs=_count(conn, count.where(old, finished)),
        attempts=_count(
            conn,
            sa.select(sa.func.count())
            .select_from(attempts.join(step_runs).join(runs))
            .where(old, finished),
        ),
        kept_unfinished=_count(conn, count.where(old, sa.not_(finished))),
    )
    if scope.org_id is None:
        return result
    calls = sa.select(sa.func.count()).select_from(trigger_calls)
    of_org = trigger_calls.c.org_id == scope.org_id
    key_cutoff = now - TRIGGER_KEY_LIFETIME
    keys_mark = _mark(conn, scope.org_id, organizations.c.keys_expired_before)
    bodies = 0
    if scope.retention.removes_bodies_early:
        bodies_mark = _mark(conn, scope.org_id, organizations.c.bodies_removed_before)
        bodies = _count(
            conn,
            count.where(
                runs.c.org_id == scope.org_id,
                runs.c.created_at >= max(cutoff, bodies_mark or cutoff),
                runs.c.created_at < now - scope.retention.bodies_days * DAY,
                finished,
                runs.c.bodies_removed_at.is_(None),
            ),
        )
    return replace(
        result,
        bodies=bodies,
        trigger_calls=_count(conn, calls.where(of_org, trigger_calls.c.created_at < cutoff)),
        trigger_keys=_count(
            conn,
            calls.where(
                of_org,
                trigger_calls.c.idempotency_key.is_not(None),
                trigger_calls.c.created_at >= max(cutoff, keys_mark or cutoff),
                trigger_calls.c.created_at < key_cutoff,
            ),
        ),
    )


def take_lease(conn: sa.Connection, holder: str, *, hold_for: float, every: float | None) -> bool:
    """Take or renew the prune lease for `holder`, by the database's clock; say whether."""
    now = database_now(conn)
    free = sa.or_(
        maintenance_leases.c.holder.is_(None),
        maintenance_leases.c.holder == holder,
        maintenance_leases.c.expires_at < now,
    )
    query = sa.update(maintenance_leases).where(maintenance_leases.c.name == PRUNE_LEASE)
    query = query.where(free)
    if every is not None:
        query = query.where(
            sa.or_(
                maintenance_leases.c.finished_at.is_(None),
                maintenance_leases.c.finished_at <= now - every,
            )
        )
    taken = conn.execute(query.values(holder=holder, expires_at=now + hold_for))
    return taken.rowcount == 1


def end_lease(conn: sa.Connection, holder: str, *, finished: bool) -> None:
    """Give the prune lease back (if `holder` still has it); note a finished pass."""
    values: dict[str, Any] = {"holder": None, "expires_at": None}
    if finished:
        values["finished_at"] = database_now(conn)
    conn.execute(
        sa.update(maintenance_leases)
        .where(maintenance_leases.c.name == PRUNE_LEASE)
        .where(maintenance_leases.c.holder == holder)
        .values(values)
    )
