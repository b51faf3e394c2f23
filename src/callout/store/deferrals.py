"""Putting a claimed step run back when delivery control holds it (`Store.defer`), in SQL.

Fenced like a result: the first statement is the fence, so a refused deferral
writes nothing. Nothing was sent, so the claim's `sending` attempt is removed
(attempt numbers stay gapless) and no retry is used; the step run is `pending`
again, due after the deferral's delay by the database's clock, and says why.
A run that has no attempt left is `pending` again too. On PostgreSQL it is one
statement (data-modifying CTEs), as a result is.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa

from callout.model.delivery import Deferral
from callout.store.prepared_sql import now_parameters, prepared
from callout.store.protocol import Claim, LeaseLostError

_HELD_BACK = (
    "UPDATE step_runs SET lease_token = NULL, status = 'pending', due_at = :now + :delay, "
    "updated_at = :now, wait_reason = :reason, waiting_for = :host, "
    "deferrals = deferrals + 1 WHERE id = :step_run_id AND lease_token = :lease_token"
)
_UNSENT = "DELETE FROM attempts WHERE id = :attempt_id"
_NOTHING_SENT = (
    "UPDATE runs SET status = 'pending', updated_at = :now "
    "WHERE id = :run_id AND status = 'running' AND NOT EXISTS (SELECT 1 FROM attempts "
    "JOIN step_runs ON step_runs.id = attempts.step_run_id "
    "WHERE step_runs.run_id = :run_id AND attempts.id <> :attempt_id)"
)
_AFTER_FENCE = " AND EXISTS (SELECT 1 FROM fenced)"


@functools.cache
def _postgres_deferral(now: str) -> sa.TextClause:
    """Return the deferral as one statement: each part runs only if the fence held.

    The parts see the database as it was before the statement, so the run's other
    attempts are counted without the one removed beside them (`attempts.id <>`).
    """
    parts = (
        "WITH fenced AS (" + _HELD_BACK + " RETURNING 1), ",
        "unsent AS (" + _UNSENT + _AFTER_FENCE + "), ",
        "pending AS (" + _NOTHING_SENT + _AFTER_FENCE + ") ",
        "SELECT EXISTS (SELECT 1 FROM fenced) AS fenced",
    )
    return prepared("".join(parts), now)


def record_deferral(conn: sa.Connection, claim: Claim, deferral: Deferral) -> None:
    """Put the claimed step run back, fenced by the lease, in `conn`'s transaction.

    Raises LeaseLostError, having written nothing, when the lease was taken over.
    """
    now, bound = now_parameters(conn)
    parameters = {
        **bound,
        "step_run_id": claim.step_run_id,
        "lease_token": claim.lease_token,
        "run_id": claim.run_id,
        "attempt_id": claim.attempt_id,
        "delay": max(0.0, deferral.delay),
        "reason": deferral.reason[:300],
        "host": deferral.host[:253],
    }
    if conn.dialect.name == "postgresql":
        if not conn.execute(_postgres_deferral(now), parameters).scalar():
            raise _lease_lost(claim)
        return
    if conn.execute(prepared(_HELD_BACK, now), parameters).rowcount != 1:
        raise _lease_lost(claim)
    conn.execute(prepared(_UNSENT, now), parameters)
    conn.execute(prepared(_NOTHING_SENT, now), parameters)


def _lease_lost(claim: Claim) -> LeaseLostError:
    return LeaseLostError(
        f"the lease on step run {claim.step_run_id} was taken over; deferral not recorded"
    )
