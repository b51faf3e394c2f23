"""Trigger calls: every call that asked to start runs, with what it answered.

A call made with an `Idempotency-Key` is kept under that key, and a repeat
of it gets the first answer back instead of starting runs again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from callout.model.ids import new_id
from callout.store.protocol import NewRun
from callout.store.run_records import insert_run
from callout.store.tables import trigger_calls


@dataclass(frozen=True, slots=True)
class TriggerCall:
    """A recorded trigger call."""

    id: str
    workflow_id: str | None
    event: str | None
    idempotency_key: str | None
    fingerprint: str
    status_code: int
    response: Any
    created_at: float


def _call(row: Any) -> TriggerCall:
    return TriggerCall(
        id=row.id,
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


def record_call(  # noqa: PLR0913
    conn: sa.Connection,
    *,
    org_id: str,
    workflow_id: str | None,
    event: str | None,
    idempotency_key: str | None,
    fingerprint: str,
    status_code: int,
    response: Any,
    now: float,
    call_id: str | None = None,
) -> TriggerCall:
    """Record a call (under its key when given)."""
    call = TriggerCall(
        id=call_id or new_id("trg", now=now),
        workflow_id=workflow_id,
        event=event,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        status_code=status_code,
        response=response,
        created_at=now,
    )
    conn.execute(trigger_calls.insert().values(org_id=org_id, **asdict(call)))
    return call


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


def start_runs_once(  # noqa: PLR0913 - the call and what it starts
    conn: sa.Connection,
    *,
    org_id: str,
    runs: list[NewRun],
    workflow_id: str | None,
    event: str | None,
    idempotency_key: str | None,
    fingerprint: str,
    status_code: int,
    response: Any,
    call_id: str,
    now: float,
) -> tuple[TriggerCall, bool]:
    """Start `runs` and record the call, in one transaction; return (call, replayed).

    When the key was used by a call committed earlier, nothing starts and that call
    comes back with `replayed` true. Two calls racing in concurrent transactions both
    pass that check; the unique index then refuses the second (IntegrityError, its
    runs rolled back), and the API answers it as a replay.
    """
    if idempotency_key is not None:
        found = find_call(conn, org_id=org_id, idempotency_key=idempotency_key)
        if found is not None:
            return found, True
    for run in runs:
        insert_run(conn, run)  # the run's times are the database's; `now` stamps the call
    call = record_call(
        conn,
        org_id=org_id,
        workflow_id=workflow_id,
        event=event,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        status_code=status_code,
        response=response,
        now=now,
        call_id=call_id,
    )
    return call, False
