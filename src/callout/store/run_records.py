"""Run records: inserting a run with its step runs, reading runs back (one transaction's worth).

Shared by the engine's store (`sql_sync.py`) and the service's trigger calls, which
start runs inside their own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from callout.store.prepared_sql import execute, now_parameters, prepared
from callout.store.protocol import (
    NewRun,
    RunFilter,
    StoredAttempt,
    StoredRun,
    StoredStepRun,
    UnknownRunError,
)
from callout.store.tables import attempts, runs, step_runs, workflow_versions

_PINNED = workflow_versions.alias("pinned")
PINNED_DOCUMENT = sa.case(
    (runs.c.version_id.is_(None), runs.c.document), else_=_PINNED.c.document
).label("document")
"""A run's document: its own copy for a run of no version (`callout run`), else its version's.

A published version never changes, so a run started from one is not given a
copy (a 1 MiB document would be written again by every trigger): it reads the
version's. Runs recorded before that carry a copy; it equals the version's.
"""


def runs_with_documents() -> sa.Select[Any]:
    """`SELECT` every column of `runs`, the document resolved (`PINNED_DOCUMENT`)."""
    return sa.select(
        *(column for column in runs.c if column.name != "document"), PINNED_DOCUMENT
    ).select_from(runs.outerjoin(_PINNED, _PINNED.c.id == runs.c.version_id))


def read_run(conn: sa.Connection, run_id: str) -> StoredRun:
    """Return a run with its step runs and their attempts."""
    run = (conn.execute(runs_with_documents().where(runs.c.id == run_id))).one_or_none()
    if run is None:
        raise UnknownRunError(f"no run {run_id}")
    steps = (
        conn.execute(
            sa.select(step_runs)
            .where(step_runs.c.run_id == run_id)
            .order_by(step_runs.c.position, step_runs.c.created_at)
        )
    ).all()
    attempt_rows = (
        conn.execute(
            sa.select(attempts)
            .where(attempts.c.step_run_id.in_([s.id for s in steps]))
            .order_by(attempts.c.number)
        )
    ).all()
    by_step: dict[str, list[StoredAttempt]] = {}
    for row in attempt_rows:
        by_step.setdefault(row.step_run_id, []).append(
            attempt_from_row(row, error=row.error, request=row.request, response=row.response)
        )
    return run_from_row(
        run,
        tuple(
            StoredStepRun(
                id=s.id,
                position=s.position,
                step_id=s.step_id,
                status=s.status,
                due_at=s.due_at,
                output=s.output,
                error=s.error,
                resumed_from=s.resumed_from,
                interruptions=s.interruptions,
                attempts=tuple(by_step.get(s.id, [])),
                wait_reason=s.wait_reason,
            )
            for s in steps
        ),
        document=run.document,
        trigger=run.trigger,
    )


def read_runs(
    conn: sa.Connection, *, status: str | None, limit: int, where: RunFilter | None
) -> list[StoredRun]:
    """Return runs, newest first, without their steps; `before_id` pages on."""
    where = where or RunFilter()
    query = runs_with_documents().order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit)
    if status is not None or where.status is not None:
        query = query.where(runs.c.status == (where.status or status))
    if where.org_id is not None:
        query = query.where(runs.c.org_id == where.org_id)
    if where.workflow_id is not None:
        query = query.where(runs.c.workflow_id == where.workflow_id)
    if where.created_after is not None:
        query = query.where(runs.c.created_at >= where.created_after)
    if where.created_before is not None:
        query = query.where(runs.c.created_at < where.created_before)
    if where.before_id is not None:
        # Older than the cursor run: an earlier time, or the same time and a smaller id.
        at = sa.select(runs.c.created_at).where(runs.c.id == where.before_id).scalar_subquery()
        query = query.where(
            sa.or_(
                runs.c.created_at < at,
                sa.and_(runs.c.created_at == at, runs.c.id < where.before_id),
            )
        )
    rows = (conn.execute(query)).all()
    return [run_from_row(row, (), document=row.document, trigger=row.trigger) for row in rows]


_INSERT_RUN = (
    "INSERT INTO runs (id, workflow_name, document, trigger, status, created_at, updated_at, "
    "org_id, workflow_id, version_id) VALUES (:id, :workflow_name, :document, :trigger, "
    "'pending', :now, :now, :org_id, :workflow_id, :version_id)"
)
_INSERT_STEP_RUN = (
    "INSERT INTO step_runs (id, run_id, position, step_id, status, due_at, timeout, "
    "attempts_made, interruptions, created_at, updated_at) VALUES (:id, :run_id, :position, "
    ":step_id, 'pending', CASE WHEN :position = 0 THEN :now END, :timeout, 0, 0, :now, :now)"
)


def run_row(run: NewRun) -> dict[str, Any]:
    """Return the parameters of a run's `runs` row (its times are the database's now)."""
    return {
        "id": run.id,
        "workflow_name": run.workflow_name,
        # A version's runs read its document (PINNED_DOCUMENT): JSON null here.
        "document": run.document if run.version_id is None else None,
        "trigger": run.trigger,
        "org_id": run.org_id,
        "workflow_id": run.workflow_id,
        "version_id": run.version_id,
    }


def step_run_rows(run: NewRun) -> list[dict[str, Any]]:
    """Return the parameters of a run's `step_runs` rows, by position (the first due now)."""
    return [
        {
            "id": step_run_id,
            "run_id": run.id,
            "position": position,
            "step_id": step_id,
            "timeout": run.timeout_of(position),
        }
        for position, (step_id, step_run_id) in enumerate(
            zip(run.step_ids, run.step_run_ids, strict=True)
        )
    ]


def insert_run(conn: sa.Connection, run: NewRun) -> None:
    """Insert a run and its step runs in the caller's transaction; the first step is due now."""
    insert_runs(conn, [run])


def insert_runs(conn: sa.Connection, runs: Sequence[NewRun]) -> None:
    """Insert runs and their step runs in the caller's transaction; each first step due now.

    Every time it writes is the database's, whoever triggered the runs. Two statements
    prepared once (`prepared_sql.py`), each run as many times as it has rows: the
    runs, then all their step runs.
    """
    if not runs:
        return
    now, bound = now_parameters(conn)
    execute(conn, prepared(_INSERT_RUN, now), [{**bound, **run_row(run)} for run in runs])
    execute(
        conn,
        prepared(_INSERT_STEP_RUN, now),
        [{**bound, **row} for run in runs for row in step_run_rows(run)],
    )


def attempt_from_row(row: Any, *, error: Any, request: Any, response: Any) -> StoredAttempt:
    """Build an attempt record from an `attempts` row; its records as the caller read them."""
    return StoredAttempt(
        id=row.id,
        number=row.number,
        status=row.status,
        started_at=row.started_at,
        ended_at=row.ended_at,
        http_status=row.http_status,
        error=error,
        request=request,
        response=response,
        next_attempt_at=row.next_attempt_at,
    )


def run_from_row(
    row: Any, steps: tuple[StoredStepRun, ...], *, document: Any = None, trigger: Any = None
) -> StoredRun:
    """Build a run record from a `runs` row; its document and trigger as the caller read them."""
    return StoredRun(
        id=row.id,
        workflow_name=row.workflow_name,
        document=document,
        trigger=trigger,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        steps=steps,
        org_id=row.org_id,
        workflow_id=row.workflow_id,
        version_id=row.version_id,
        bodies_removed_at=row.bodies_removed_at,
    )
