"""A run as the API shows it, bounded in size whatever the run holds.

The run view (`GET /v1/runs/{id}`) spends at most `VIEW_BUDGET_CHARS` on bodies and
values: each field that can be large (a body, an output's headers, an error message,
a URL) gets an equal share of it, between `VIEW_MIN_CHARS` and `VIEW_MAX_CHARS` (so
only a run of over 4,000 such fields, resumed again and again, spends more: 256
characters a field); each step run shows its latest `VIEW_ATTEMPTS` attempts. A body
that does not fit becomes the first characters of its text (of its JSON text, for
JSON) with `body_truncated: true`. The cutting happens in SQL (`length`, `substr`,
JSON extraction, on SQLite and PostgreSQL alike), so a large record never becomes
Python objects here: reading a run costs memory in proportion to the view, not to
the run. `read_step_run` gives one step run whole: its output, its error and every
attempt as recorded (docs/service.md, "Reading a run").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from callout.model.json_input import MAX_JSON_DEPTH, JsonInputError, parse_json_value
from callout.store.protocol import StoredAttempt, StoredRun, StoredStepRun, UnknownRunError
from callout.store.run_records import attempt_from_row, run_from_row
from callout.store.tables import attempts, runs, step_runs

VIEW_BUDGET_CHARS = 1024 * 1024
"""Characters of bodies and values a run view holds at most, all fields together."""

VIEW_MAX_CHARS = 16 * 1024
"""The most characters one field gets (the trigger always gets this much)."""

VIEW_MIN_CHARS = 256
"""The fewest characters one field gets, however many the run has."""

VIEW_ATTEMPTS = 5
"""How many attempts of each step run the run view shows: the latest ones."""

STORED_DEPTH = MAX_JSON_DEPTH + 3
# Records wrap values read under MAX_JSON_DEPTH (output.error.body is 3 levels down).


@dataclass(frozen=True, slots=True)
class _Shape:
    """The keys of one kind of record: which are tiny, which are cut, which dropped."""

    tiny: tuple[str, ...]  # always small (a status, a type, a flag): kept whole
    text: tuple[str, ...]  # strings cut to the field's share (a message, a URL)
    bulky: tuple[str, ...]  # containers: whole when they fit, else left out (`<key>_truncated`)
    empty: Mapping[str, Any]  # what a left-out container shows


_OUTPUT = _Shape(("status", "body_truncated"), (), ("headers", "error"), {"headers": {}})
_ERROR = _Shape(("type", "status", "body_truncated"), ("message",), (), {})
_REQUEST = _Shape(("method", "body_truncated"), ("url",), ("headers",), {"headers": []})
_RESPONSE = _Shape(("status", "body_truncated"), (), ("headers",), {"headers": []})


_FIELDS_PER_STEP_RUN = 5  # output: headers, error, body; error: message, body
_FIELDS_PER_ATTEMPT = 7  # request: url, headers, body; response: headers, body; error: 2


@dataclass(frozen=True, slots=True)
class RunView:
    """A run cut to size: `run` holds the latest attempts and every value within its share.

    `attempts_total` gives each step run's number of attempts (by step run id);
    `trigger_truncated` says the trigger is the first `VIEW_MAX_CHARS` of its JSON text.
    """

    run: StoredRun
    attempts_total: Mapping[str, int]
    trigger_truncated: bool
    field_chars: int


def field_share(step_runs_count: int, attempts_shown: int) -> int:
    """Return the characters each field gets in a view of this many step runs and attempts."""
    fields = 1 + _FIELDS_PER_STEP_RUN * step_runs_count + _FIELDS_PER_ATTEMPT * attempts_shown
    return max(VIEW_MIN_CHARS, min(VIEW_MAX_CHARS, VIEW_BUDGET_CHARS // fields))


def _json_text(value: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    return sa.cast(value, sa.Text)


def _whole_if_fits(value: sa.ColumnElement[Any], cap: int) -> sa.ColumnElement[Any]:
    """Select the JSON text of `value` when it has at most `cap` characters, else NULL."""
    text = _json_text(value)
    return sa.case((sa.func.length(text) <= cap, text), else_=sa.null())


def _prefix_if_long(
    value: sa.ColumnElement[Any], shown: sa.ColumnElement[Any], cap: int
) -> sa.ColumnElement[Any]:
    """Select the first `cap` characters of `shown` when `value`'s JSON text is longer."""
    return sa.case(
        (sa.func.length(_json_text(value)) > cap, sa.func.substr(shown, 1, cap)), else_=sa.null()
    )


def _record_columns(column: Any, shape: _Shape, name: str, cap: int) -> list[Any]:
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


def _parsed(text: str | None) -> tuple[Any, bool]:
    """Return the value of a stored JSON text, and whether it had to stay text (too deep)."""
    if text is None:
        return None, False
    try:
        return parse_json_value(text, max_depth=STORED_DEPTH), False
    except JsonInputError:
        return text, True


def _cut_text(pieces: Mapping[str, Any], key: str) -> Any:
    """Return a string piece: whole, or cut with an ellipsis."""
    cut = pieces[f"{key}__cut"]
    return cut + "…" if cut is not None else _parsed(pieces[key])[0]


def _bulky(pieces: Mapping[str, Any], name: str, key: str, shape: _Shape) -> dict[str, Any]:
    """Return a container piece whole, or its empty stand-in flagged `<key>_truncated`."""
    text = pieces[f"{name}__{key}"]
    value, deep = _parsed(text)
    if text is not None and not deep:
        return {} if value is None else {key: value}
    return {key: shape.empty[key], f"{key}_truncated": True} if key in shape.empty else {}


def _body(pieces: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return the body piece: whole when it fits, else its text's start, `body_truncated`."""
    cut = pieces[f"{key}__cut"]
    if cut is not None:
        return {"body": cut, "body_truncated": True}
    body, deep = _parsed(pieces[key])
    return {"body": body, "body_truncated": True} if deep else {"body": body}


def _record(row: Any, shape: _Shape, name: str) -> dict[str, Any] | None:
    """Build one record from its pieces: tiny keys whole, large ones cut or left out."""
    pieces: Mapping[str, Any] = row._mapping  # noqa: SLF001 - SQLAlchemy's public row mapping
    if pieces[f"{name}__null"]:
        return None
    out: dict[str, Any] = {}
    for key in shape.tiny:
        value = _parsed(pieces[f"{name}__{key}"])[0]
        if value is not None:
            out[key] = value
    for key in shape.text:
        value = _cut_text(pieces, f"{name}__{key}")
        if value is not None:
            out[key] = value
    for key in shape.bulky:
        out.update(_bulky(pieces, name, key, shape))
    out.update(_body(pieces, f"{name}__body"))
    return out


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
        *_record_columns(shown.c.error, _ERROR, "error", cap),
        *_record_columns(shown.c.request, _REQUEST, "request", cap),
        *_record_columns(shown.c.response, _RESPONSE, "response", cap),
    ).order_by(shown.c.step_run_id, shown.c.number)
    if latest is not None:
        query = query.where(shown.c.rank <= latest)
    by_step: dict[str, list[StoredAttempt]] = {}
    for row in conn.execute(query):
        by_step.setdefault(row.step_run_id, []).append(
            attempt_from_row(
                row,
                error=_record(row, _ERROR, "error"),
                request=_record(row, _REQUEST, "request"),
                response=_record(row, _RESPONSE, "response"),
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
            *_record_columns(step_runs.c.output, _OUTPUT, "output", cap),
            *_record_columns(step_runs.c.error, _ERROR, "error", cap),
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
            output=_record(row, _OUTPUT, "output"),
            error=_record(row, _ERROR, "error"),
            resumed_from=row.resumed_from,
            interruptions=row.interruptions,
            attempts=tuple(attempts_by_step.get(row.id, [])),
        )
        for row in conn.execute(query)
    )


@contextmanager
def _one_snapshot(conn: sa.Connection) -> Iterator[None]:
    """Make the reads inside see one state of the database (a run and its steps agree).

    PostgreSQL: a REPEATABLE READ transaction. SQLite: a read transaction on the
    reader connection (which otherwise reads statement by statement); in WAL mode
    it takes no lock a writer waits for.
    """
    if conn.dialect.name != "sqlite":
        conn.execution_options(isolation_level="REPEATABLE READ")
        yield
        return
    conn.exec_driver_sql("BEGIN")
    try:
        yield
    finally:
        conn.exec_driver_sql("ROLLBACK")


def read_run_view(conn: sa.Connection, run_id: str) -> RunView:
    """Return the run view: every step run, its latest attempts, every value cut to its share."""
    with _one_snapshot(conn):
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
    trigger, deep = _parsed(row.trigger_whole)
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


WHOLE_RECORD_CHARS = 8 * 1024 * 1024
"""The share a field gets when one step run is read whole: more than a record written
within the output budget holds (1 MiB of body, up to 6 characters a byte as stored JSON);
only a record from before the budget could be longer, and is cut like in the run view."""


def read_step_run(conn: sa.Connection, run_id: str, step_run_id: str) -> StoredStepRun:
    """Return one step run of a run whole: output, error and every attempt as recorded.

    Records are bounded when written (docs/attempts.md), so this is too. Raises
    UnknownRunError when the run has no such step run.
    """
    with _one_snapshot(conn):
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
    value, _ = _parsed(text[0])
    return value
