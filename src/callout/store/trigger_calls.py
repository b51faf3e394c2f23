"""Trigger calls in SQL: every call that asked to start runs, with what it answered.

A call made with an `Idempotency-Key` is kept under that key (unique per
organization), and a repeat of it gets the first answer back instead of
starting runs again. The key is looked up once, when a trigger reads what it
needs (`trigger_target`, `event_targets`); recording a call does not look
again: the insert itself tells whether the key was taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from callout.store.prepared_sql import (
    RowColumns,
    execute,
    given_rows,
    now_parameters,
    prepared,
    rows_parameter,
)
from callout.store.protocol import ConflictError, NewRun
from callout.store.run_records import insert_runs, run_row, step_run_rows
from callout.store.tables import trigger_calls
from callout.store.workflow_records import CallOutcome, RunTarget, TriggerCall
from callout.store.workflows import live_target, subscribed_targets


def _call(row: Any) -> TriggerCall:
    return TriggerCall(
        id=row.id,
        org_id=row.org_id,
        workflow_id=row.workflow_id,
        event=row.event,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        status_code=row.status_code,
        response=row.response,
        created_at=row.created_at,
    )


def find_call(conn: sa.Connection, *, org_id: str, idempotency_key: str) -> TriggerCall | None:
    """Return the call an organization made with this key, if any."""
    row = conn.execute(
        sa.select(trigger_calls)
        .where(trigger_calls.c.org_id == org_id)
        .where(trigger_calls.c.idempotency_key == idempotency_key)
    ).one_or_none()
    return _call(row) if row is not None else None


def trigger_target(
    conn: sa.Connection, *, org_id: str, workflow_id: str, idempotency_key: str | None
) -> TriggerCall | RunTarget:
    """Return the earlier call with this key if any, else the workflow and its live version."""
    if idempotency_key is not None:
        earlier = find_call(conn, org_id=org_id, idempotency_key=idempotency_key)
        if earlier is not None:
            return earlier
    return live_target(conn, org_id=org_id, workflow_id=workflow_id)


def event_targets(
    conn: sa.Connection, *, org_id: str, event: str, idempotency_key: str | None
) -> TriggerCall | list[RunTarget]:
    """Return the earlier call with this key if any, else the workflows listening to `event`."""
    if idempotency_key is not None:
        earlier = find_call(conn, org_id=org_id, idempotency_key=idempotency_key)
        if earlier is not None:
            return earlier
    return subscribed_targets(conn, org_id=org_id, event=event)


_INSERT_CALL = (
    "INSERT INTO trigger_calls (id, org_id, workflow_id, event, idempotency_key, fingerprint, "
    "status_code, response, created_at) VALUES (:id, :org_id, :workflow_id, :event, "
    ":idempotency_key, :fingerprint, :status_code, :response, :created_at) "
    "ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING id"
)


def _insert_unless_key_taken(conn: sa.Connection, call: TriggerCall) -> bool:
    """Insert the call; return False, inserting nothing, when its key is taken.

    `ON CONFLICT DO NOTHING` on the key: on PostgreSQL a call racing with the same key
    in another transaction makes this wait for it, and then do nothing if it
    committed. No error, so the transaction (and its savepoint in a group commit)
    goes on to read the winner. A call without a key never conflicts (NULLs differ).
    Prepared once (`prepared_sql.py`): it runs on every trigger.
    """
    # RETURNING, not the row count: a driver may count the statement, not the rows.
    return execute(conn, prepared(_INSERT_CALL, ":now"), _call_row(call)).first() is not None


def start_runs(conn: sa.Connection, call: TriggerCall, runs: Sequence[NewRun]) -> CallOutcome:
    """Record `call` and start `runs` in the caller's transaction, unless its key was used.

    The call goes in first: when its key is taken (by a call committed earlier, by one
    racing in another transaction, or earlier in the same group commit), nothing is
    written and the earlier call comes back as a replay. Run times are the database's;
    the call keeps the time the API stamped on it.
    """
    return start_many(conn, [(call, runs)])[0]


def start_many(
    conn: sa.Connection, starts: Sequence[tuple[TriggerCall, Sequence[NewRun]]]
) -> list[CallOutcome]:
    """Apply `start_runs` to each (call, runs), in order, in the caller's transaction.

    On PostgreSQL all of them are one statement (`_STARTED_TOGETHER`): a group commit
    of many trigger calls is one round trip, not one per call. On SQLite each call's
    row is a statement of its own (whether its key was taken), then the runs of the
    calls written and their step runs are two more (`insert_runs`). A call whose key
    is taken, by an earlier call of the same list too, writes nothing and replays.
    """
    if conn.dialect.name == "postgresql":
        started = _started_together(conn, starts)
    else:
        started = set()
        written: list[NewRun] = []
        for call, runs in starts:
            if _insert_unless_key_taken(conn, call):
                started.add(call.id)
                written.extend(runs)
        insert_runs(conn, written)
    return [
        CallOutcome(call, replayed=False) if call.id in started else _replayed(conn, call)
        for call, _ in starts
    ]


def _replayed(conn: sa.Connection, call: TriggerCall) -> CallOutcome:
    key = call.idempotency_key or ""  # only a key can be taken: NULLs never conflict
    earlier = find_call(conn, org_id=call.org_id, idempotency_key=key)
    if earlier is None:  # trigger calls are never deleted: only a broken database
        raise ConflictError("this Idempotency-Key is taken, but its call cannot be read")
    return CallOutcome(earlier, replayed=True)


_CALL_COLUMNS: RowColumns = (
    ("id", "TEXT"),
    ("org_id", "TEXT"),
    ("workflow_id", "TEXT"),
    ("event", "TEXT"),
    ("idempotency_key", "TEXT"),
    ("fingerprint", "TEXT"),
    ("status_code", "INTEGER"),
    ("response", "JSON"),
    ("created_at", "DOUBLE PRECISION"),
)


def _call_row(call: TriggerCall) -> dict[str, Any]:
    """Return the call's columns, its answer as it is (`dataclasses.asdict` copied it deeply)."""
    return {name: getattr(call, name) for name, _ in _CALL_COLUMNS}


_RUN_COLUMNS: RowColumns = (
    ("id", "TEXT"),
    ("call_id", "TEXT"),
    ("workflow_name", "TEXT"),
    ("document", "JSON"),
    ("trigger", "JSON"),
    ("org_id", "TEXT"),
    ("workflow_id", "TEXT"),
    ("version_id", "TEXT"),
)
_STEP_COLUMNS: RowColumns = (
    ("id", "TEXT"),
    ("run_id", "TEXT"),
    ("position", "INTEGER"),
    ("step_id", "TEXT"),
    ("timeout", "DOUBLE PRECISION"),
)


_CALL_NAMES = ", ".join(name for name, _ in _CALL_COLUMNS)
_STARTED_TOGETHER = (
    f"WITH call AS (INSERT INTO trigger_calls ({_CALL_NAMES}) "  # noqa: S608 - constant SQL only
    f"SELECT {_CALL_NAMES} FROM {given_rows('c', _CALL_COLUMNS, place=True)} ORDER BY place "
    "ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING id), "
    "run AS (INSERT INTO runs (id, workflow_name, document, trigger, status, created_at, "
    "updated_at, org_id, workflow_id, version_id) "
    "SELECT r.id, r.workflow_name, r.document, r.trigger, 'pending', :now, :now, r.org_id, "
    f"r.workflow_id, r.version_id FROM {given_rows('r', _RUN_COLUMNS)} "
    "JOIN call ON call.id = r.call_id RETURNING id), "
    "steps AS (INSERT INTO step_runs (id, run_id, position, step_id, status, due_at, "
    "timeout, attempts_made, interruptions, created_at, updated_at) "
    "SELECT s.id, run.id, s.position, s.step_id, 'pending', "
    "CASE WHEN s.position = 0 THEN :now END, s.timeout, 0, 0, :now, :now "
    f"FROM {given_rows('s', _STEP_COLUMNS)} JOIN run ON run.id = s.run_id) "
    "SELECT id FROM call"
)
"""Calls, their runs and their runs' step runs, each table's rows from one JSON parameter.

A run's insert joins its call's (`JOIN call`): when the key was taken the call
inserts nothing, and neither do its runs and their steps. `ON CONFLICT DO NOTHING`
also passes over a second call of the same statement with a key already in it. The
step runs reference their run's row, inserted in the same statement (the foreign
key is checked at its end). One text for any number of calls, runs and steps, so
PostgreSQL plans it once per connection.
"""


def _started_together(
    conn: sa.Connection, starts: Sequence[tuple[TriggerCall, Sequence[NewRun]]]
) -> set[str]:
    """PostgreSQL: write the calls and their runs in one statement; return the calls written."""
    calls = [_call_row(call) for call, _ in starts]
    runs = [{**run_row(run), "call_id": call.id} for call, listed in starts for run in listed]
    steps = [row for _, listed in starts for run in listed for row in step_run_rows(run)]
    parameters = {
        **rows_parameter("c", calls, _CALL_COLUMNS, place=True),
        **rows_parameter("r", runs, _RUN_COLUMNS),
        **rows_parameter("s", steps, _STEP_COLUMNS),
    }
    now, bound = now_parameters(conn)
    written = conn.execute(prepared(_STARTED_TOGETHER, now), {**bound, **parameters})
    return {row.id for row in written}


def list_calls(
    conn: sa.Connection,
    *,
    org_id: str,
    workflow_id: str | None = None,
    limit: int = 50,
    before_id: str | None = None,
) -> list[TriggerCall]:
    """Return an organization's trigger calls, newest first."""
    query = sa.select(trigger_calls).where(trigger_calls.c.org_id == org_id)
    if workflow_id is not None:
        query = query.where(trigger_calls.c.workflow_id == workflow_id)
    if before_id is not None:
        query = query.where(trigger_calls.c.id < before_id)
    rows = conn.execute(query.order_by(trigger_calls.c.id.desc()).limit(limit)).all()
    return [_call(row) for row in rows]
