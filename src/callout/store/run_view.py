"""The run view in SQL: a run cut to size in the database, whatever the run holds.

The limits and the records are in `run_reading.py`; how each record is cut, in
`run_view_pieces.py`. The cutting happens in SQL (`length`, `substr`, JSON
extraction, on SQLite and PostgreSQL alike), so a large record never becomes
Python objects here: reading a run costs memory in proportion to the view, not
to the run. `read_step_run` gives one step run whole: its output, its error and
every attempt as recorded (docs/service.md, "Reading a run").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from callout.store.protocol import StoredAttempt, StoredRun, StoredStepRun, UnknownRunError
from callout.store.read_snapshot import one_snapshot
from callout.store.run_reading import (
    VIEW_ATTEMPTS,
    VIEW_MAX_CHARS,
    VIEW_MIN_CHARS,
    WHOLE_RECORD_CHARS,
    RunView,
    field_share,
)
from callout.store.run_records import attempt_from_row, run_from_row
from callout.store.run_view_pieces import (
    ERROR,
    OUTPUT,
    REQUEST,
    RESPONSE,
    RecordShape,
    parsed,
    record_from_pieces,
)
from callout.store.tables import attempts, runs, step_runs


def _json_text(value: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    return sa.cast(value, sa.Text)


def _whole_if_fits(value: sa.ColumnElement[Any], cap: int) -> sa.ColumnElement[Any]:
    """Select the JSON text of `value` when it has at most `cap` characters, else NULL.

    A key the record lacks reads as JSON `null` (as SQLite reads it; PostgreSQL gives
    SQL NULL), so a record written before a key existed shows without it, not cut.
    """
    text = sa.func.coalesce(_json_text(value), sa.literal("null"))
    return sa.case((sa.func.length(text) <= cap, text), else_=sa.null())


def _prefix_if_long(
    value: sa.ColumnElement[Any], shown: sa.ColumnElement[Any], cap: int
) -> sa.ColumnElement[Any]:
    """Select the first `cap` characters of `shown` when `value`'s JSON text is longer."""
    return sa.case(
        (sa.func.length(_json_text(value)) > cap, sa.func.substr(shown, 1, cap)), else_=sa.null()
    )


def _record_columns(column: Any, shape: RecordShape, name: str, cap: int) -> list[Any]:
    """Select the pieces of one JSON record column, each cut to `cap` characters."""
    # A record never set is SQL NULL; one set to None is the JSON text `null`.
    absent = sa.or_(column.is_(None), _json_text(column) == "null")
    return [
        absent.label(f"{name}__null"),
        *(_whole_if_fits(column[k], VIEW_MIN_CHARS).label(f"{name}__{k}") for k in shape.tiny),
        *(
            _whole_if_fits(column[k], cap).label(f"{name}__{k}")
            for k in (*shape.text, *shape.bulky, "body")
        ),
        *(
            _prefix_if_long(column[k], column[k].as_string(), cap).label(f"{name}__{k}__cut")
            for k in (*shape.text, "body")
        ),
    ]


def _record(row: Any, shape: RecordShape, name: str) -> dict[str, Any] | None:
    pieces: Mapping[str, Any] = row._mapping  # noqa: SLF001 - SQLAlchemy's public row mapping
    return record_from_pieces(pieces, shape, name)


def _attempt_count(conn: sa.Connection, run_id: str) -> dict[str, int]:
    rows = conn.execute(
        sa.select(step_runs.c.id, sa.func.count(attempts.c.id))
        .select_from(step_runs.outerjoin(attempts, attempts.c.step_run_id == step_runs.c.id))
        .where(step_runs.c.run_id == run_id)
        .group_by(step_runs.c.id)
    ).all()
    return {row[0]: int(row[1]) for row in rows}


def _run_row(conn: sa.Connection, run_id: str, extra: Sequence[Any] = ()) -> Any:
    row = conn.execute(
        sa.select(
            runs.c.id,
            runs.c.workflow_name,
            runs.c.status,
            runs.c.created_at,
            runs.c.updated_at,
            runs.c.finished_at,
            runs.c.org_id,
            runs.c.workflow_id,
            runs.c.version_id,
            runs.c.bodies_removed_at,
            *extra,
        ).where(runs.c.id == run_id)
    ).one_or_none()
    if row is None:
        raise UnknownRunError(f"no run {run_id}")
    return row


def read_run_summary(conn: sa.Connection, run_id: str) -> StoredRun:
    """Return a run without its steps, trigger or document (for ownership checks and lists)."""
    return run_from_row(_run_row(conn, run_id), ())


def _attempts_of(
    conn: sa.Connection, run_id: str, cap: int, latest: int | None, step_run_id: str | None
) -> dict[str, list[StoredAttempt]]:
    """Return attempts by step run, oldest first: the `latest` of each, or all of one."""
    ranked = sa.select(
        attempts,
        sa.func.row_number()
        .over(partition_by=attempts.c.step_run_id, order_by=attempts.c.number.desc())
        .label("rank"),
    ).where(
        attempts.c.step_run_id.in_(
            sa.select(step_runs.c.id).where(step_runs.c.run_id == run_id)
            if step_run_id is None
            else [step_run_id]
        )
    )
    shown = ranked.subquery()
    query = sa.select(
        shown.c.id,
        shown.c.step_run_id,
        shown.c.number,
        shown.c.status,
        shown.c.started_at,
        shown.c.ended_at,
        shown.c.http_status,
        shown.c.next_attempt_at,
        *_record_columns(shown.c.error, ERROR, "error", cap),
        *_record_columns(shown.c.request, REQUEST, "request", cap),
        *_record_columns(shown.c.response, RESPONSE, "response", cap),
    ).order_by(shown.c.step_run_id, shown.c.number)
    if latest is not None:
        query = query.where(shown.c.rank <= latest)
    by_step: dict[str, list[StoredAttempt]] = {}
    for row in conn.execute(query):
        by_step.setdefault(row.step_run_id, []).append(
            attempt_from_row(
                row,
                error=_record(row, ERROR, "error"),
                request=_record(row, REQUEST, "request"),
                response=_record(row, RESPONSE, "response"),
            )
        )
    return by_step


def _step_runs_of(
    conn: sa.Connection,
    run_id: str,
    cap: int,
    attempts_by_step: Mapping[str, list[StoredAttempt]],
    where: Callable[[Any], Any] | None = None,
) -> tuple[StoredStepRun, ...]:
    query = (
        sa.select(
            step_runs.c.id,
            step_runs.c.position,
            step_runs.c.step_id,
            step_runs.c.status,
            step_runs.c.due_at,
            step_runs.c.resumed_from,
            step_runs.c.interruptions,
            step_runs.c.wait_reason,
            *_record_columns(step_runs.c.output, OUTPUT, "output", cap),
            *_record_columns(step_runs.c.error, ERROR, "error", cap),
        )
        .where(step_runs.c.run_id == run_id)
        .order_by(step_runs.c.position, step_runs.c.created_at)
    )
    if where is not None:
        query = where(query)
    return tuple(
        StoredStepRun(
            id=row.id,
            position=row.position,
            step_id=row.step_id,
            status=row.status,
            due_at=row.due_at,
            output=_record(row, OUTPUT, "output"),
            error=_record(row, ERROR, "error"),
            resumed_from=row.resumed_from,
            interruptions=row.interruptions,
            attempts=tuple(attempts_by_step.get(row.id, [])),
            wait_reason=row.wait_reason,
        )
        for row in conn.execute(query)
    )


def read_run_view(conn: sa.Connection, run_id: str) -> RunView:
    """Return the run view: every step run, its latest attempts, every value cut to its share."""
    with one_snapshot(conn):
        return _run_view(conn, run_id)


def _run_view(conn: sa.Connection, run_id: str) -> RunView:
    counts = _attempt_count(conn, run_id)
    cap = field_share(len(counts), sum(min(n, VIEW_ATTEMPTS) for n in counts.values()))
    row = _run_row(
        conn,
        run_id,
        (
            _whole_if_fits(runs.c.trigger, VIEW_MAX_CHARS).label("trigger_whole"),
            _prefix_if_long(runs.c.trigger, _json_text(runs.c.trigger), VIEW_MAX_CHARS).label(
                "trigger_cut"
            ),
        ),
    )
    trigger, deep = parsed(row.trigger_whole)
    truncated = deep or row.trigger_cut is not None
    if row.trigger_cut is not None:
        trigger = row.trigger_cut
    by_step = _attempts_of(conn, run_id, cap, VIEW_ATTEMPTS, None)
    steps = _step_runs_of(conn, run_id, cap, by_step)
    return RunView(
        run=run_from_row(row, steps, trigger=trigger),
        attempts_total=counts,
        trigger_truncated=truncated,
        field_chars=cap,
    )


def read_step_run(conn: sa.Connection, run_id: str, step_run_id: str) -> StoredStepRun:
    """Return one step run of a run whole: output, error and every attempt as recorded.

    Records are bounded when written (docs/attempts.md), so this is too. Raises
    UnknownRunError when the run has no such step run.
    """
    with one_snapshot(conn):
        by_step = _attempts_of(conn, run_id, WHOLE_RECORD_CHARS, None, step_run_id)
        found = _step_runs_of(
            conn,
            run_id,
            WHOLE_RECORD_CHARS,
            by_step,
            lambda query: query.where(step_runs.c.id == step_run_id),
        )
    if not found:
        raise UnknownRunError(f"no step run {step_run_id} in run {run_id}")
    return found[0]


def read_trigger(conn: sa.Connection, run_id: str) -> Any:
    """Return a run's whole trigger payload (1 MiB at most when it was accepted)."""
    text = conn.execute(
        sa.select(_json_text(runs.c.trigger)).where(runs.c.id == run_id)
    ).one_or_none()
    if text is None:
        raise UnknownRunError(f"no run {run_id}")
    value, _ = parsed(text[0])
    return value
