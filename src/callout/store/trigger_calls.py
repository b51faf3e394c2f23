"""Trigger calls in SQL: every call that asked to start runs, with what it answered.

A call made with an `Idempotency-Key` is kept under that key (unique per
organization), and a repeat of it gets the first answer back instead of
starting runs again. The key is looked up once, when a trigger reads what it
needs (`trigger_target`, `event_targets`); recording a call does not look
again: the insert itself tells whether the key was taken.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from callout.store.prepared_sql import execute, now_parameters, prepared
from callout.store.protocol import ConflictError, NewRun
from callout.store.run_records import insert_run, run_row, step_run_rows
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
    return execute(conn, prepared(_INSERT_CALL, ":now"), asdict(call)).first() is not None


def start_runs(conn: sa.Connection, call: TriggerCall, runs: Sequence[NewRun]) -> CallOutcome:
    """Record `call` and start `runs` in the caller's transaction, unless its key was used.

    The call goes in first: when its key is taken (by a call committed earlier, by one
    racing in another transaction, or earlier in the same group commit), nothing is
    written and the earlier call comes back as a replay. Run times are the database's;
    the call keeps the time the API stamped on it.
    """
    if conn.dialect.name == "postgresql":
        started = _started_at_once(conn, call, runs)
    else:
        started = _insert_unless_key_taken(conn, call)
        for run in runs if started else ():
            insert_run(conn, run)
    if not started:
        key = call.idempotency_key or ""  # only a key can be taken: NULLs never conflict
        earlier = find_call(conn, org_id=call.org_id, idempotency_key=key)
        if earlier is None:  # trigger calls are never deleted: only a broken database
            raise ConflictError("this Idempotency-Key is taken, but its call cannot be read")
        return CallOutcome(earlier, replayed=True)
    return CallOutcome(call, replayed=False)


@functools.cache
def _start_at_once_sql(shape: tuple[int, ...], now: str) -> sa.TextClause:
    """Return the call, its runs and their step runs as one statement (runs of `shape` steps).

    `now`: how the statement writes the database's now (`prepared_sql.now_parameters`).

    Each run's insert selects from the call's (`FROM call`): when the key was taken
    the call inserts nothing, and so do they. The step runs reference their run's
    row, inserted in the same statement (the foreign key is checked at its end).
    """
    parts = [f"call AS ({_INSERT_CALL})"]
    json_names = ["response"]
    for number, steps in enumerate(shape):
        run = f"r{number}_"
        json_names += [f"{run}document", f"{run}trigger"]
        parts.append(
            f"run{number} AS (INSERT INTO runs (id, workflow_name, document, trigger, status, "  # noqa: S608 - numbers and constant SQL only
            "created_at, updated_at, org_id, workflow_id, version_id) "
            f"SELECT :{run}id, :{run}workflow_name, :{run}document, :{run}trigger, 'pending', "
            f"{now}, {now}, :{run}org_id, :{run}workflow_id, :{run}version_id FROM call "
            "RETURNING id)"
        )
        values = ", ".join(
            f"(:{run}s{position}_id, {position}, :{run}s{position}_step_id, "
            f"CAST(:{run}s{position}_timeout AS DOUBLE PRECISION))"
            for position in range(steps)
        )
        parts.append(
            f"steps{number} AS (INSERT INTO step_runs (id, run_id, position, step_id, status, "  # noqa: S608 - numbers and constant SQL only
            "due_at, timeout, attempts_made, interruptions, created_at, updated_at) "
            f"SELECT v.id, run{number}.id, v.position, v.step_id, 'pending', "
            f"CASE WHEN v.position = 0 THEN {now} END, v.timeout, 0, 0, {now}, {now} "
            f"FROM run{number}, (VALUES {values}) AS v (id, position, step_id, timeout))"
        )
    text = "WITH " + ", ".join(parts) + " SELECT id FROM call"  # noqa: S608 - as above
    return sa.text(text).bindparams(*(sa.bindparam(name, type_=sa.JSON) for name in json_names))


def _started_at_once(conn: sa.Connection, call: TriggerCall, runs: Sequence[NewRun]) -> bool:
    """PostgreSQL: record the call and start its runs in one round trip, unless its key was taken.

    The same rows as `_insert_unless_key_taken` and `insert_run` one by one (three
    round trips and more); returns False, writing nothing, when the key was taken.
    """
    now, bound = now_parameters(conn)
    parameters: dict[str, Any] = {**bound, **asdict(call)}
    for number, run in enumerate(runs):
        prefix = f"r{number}_"
        parameters.update({prefix + name: value for name, value in run_row(run).items()})
        for row in step_run_rows(run):
            step = f"{prefix}s{row['position']}_"
            for name in ("id", "step_id", "timeout"):
                parameters[step + name] = row[name]
    shape = tuple(len(run.step_ids) for run in runs)
    return conn.execute(_start_at_once_sql(shape, now), parameters).first() is not None


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
