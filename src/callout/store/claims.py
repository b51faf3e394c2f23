"""Claiming due work: lease step runs and record each one's attempt, in one transaction.

The statements are SQL text prepared once (`prepared_sql.py`): a worker claims
many times a second, inside its write transaction. Due and expired mean
`due_at <= ` the database's now; the lease runs the step's timeout plus the
worker's margin; a row whose lease expired is taken over with a new token, its
`sending` attempt marked interrupted.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable

import sqlalchemy as sa

from callout.store.claim_statement import claim_at_once, claimed_input
from callout.store.prepared_sql import (
    execute,
    execute_listing,
    listing,
    now_parameters,
    prepared,
    result_reader,
)
from callout.store.protocol import CLAIM_INPUT_BYTES, Claim, RunInput

_LEASE = (
    "UPDATE step_runs SET lease_token = :token, due_at = :now + timeout + :lease_seconds, "
    "status = 'running', updated_at = :now WHERE id IN (SELECT id FROM step_runs "
    "WHERE due_at <= :now{one_run} ORDER BY due_at LIMIT :limit{skip_locked}) "
    "RETURNING id, run_id, position, step_id, attempts_made, interruptions, due_at"
)
_UNTIL_DUE = "SELECT MIN(due_at) - :now FROM step_runs{one_run}"
_INTERRUPTED = (
    "UPDATE attempts SET status = 'interrupted', ended_at = :now "
    "WHERE step_run_id IN :ids AND status = 'sending' RETURNING step_run_id"
)
_COUNT_INTERRUPTIONS = "UPDATE step_runs SET interruptions = interruptions + 1 WHERE id IN :hit"
_ATTEMPTS_MADE = (
    "SELECT step_run_id, count(*) AS made FROM attempts WHERE step_run_id IN :ids "
    "GROUP BY step_run_id"
)
_SENDING = (
    "INSERT INTO attempts (id, step_run_id, number, status, started_at) "
    "VALUES (:id, :step_run_id, :number, 'sending', :now)"
)
_RUNS_RUNNING = (
    "UPDATE runs SET status = 'running', updated_at = :now "
    "WHERE id IN :run_ids AND status = 'pending'"
)
# A trigger over CLAIM_INPUT_BYTES is left out (read on its own, cached by size);
# the document only for runs of no published version (a version's is compiled once).
_INPUTS = (
    "SELECT id, org_id, version_id, "
    "CASE WHEN length(CAST(trigger AS TEXT)) <= :largest THEN trigger END AS trigger, "
    "length(CAST(trigger AS TEXT)) <= :largest AS small, "
    "CASE WHEN version_id IS NULL THEN document END AS document "
    "FROM runs WHERE id IN :run_ids"
)


@functools.cache
def _lease(now: str, *, one_run: bool, postgres: bool) -> sa.TextClause:
    return prepared(
        _LEASE.format(
            one_run=" AND run_id = :run_id" if one_run else "",
            skip_locked=" FOR UPDATE SKIP LOCKED" if postgres else "",
        ),
        now,
    )


@functools.cache
def _until_due(now: str, *, one_run: bool) -> sa.TextClause:
    return prepared(_UNTIL_DUE.format(one_run=" WHERE run_id = :run_id" if one_run else ""), now)


def until_due(conn: sa.Connection, run_id: str | None) -> float | None:
    """Return the seconds from the database's now to the earliest due time (of one run), or None.

    Negative when something is overdue. Asked by every worker that finds less due than
    it has room for, so prepared once, like the claim.
    """
    now, bound = now_parameters(conn)
    statement = _until_due(now, one_run=run_id is not None)
    value = execute(conn, statement, {**bound, "run_id": run_id}).scalar_one_or_none()
    return None if value is None else float(value)


def claim_due(  # noqa: PLR0913 - what a claim is asked for
    conn: sa.Connection,
    *,
    lease_seconds: float,
    limit: int,
    run_id: str | None,
    attempt_id: Callable[[], str],
    postgres: bool,
) -> list[Claim]:
    """Lease up to `limit` due step runs and record each one's attempt as `sending`.

    On PostgreSQL in one statement (`claim_statement.py`), the same writes and answers.
    """
    if postgres:
        return claim_at_once(
            conn, lease_seconds=lease_seconds, limit=limit, run_id=run_id, attempt_id=attempt_id
        )
    token = secrets.token_hex(16)
    now, bound = now_parameters(conn)
    claimed = execute(
        conn,
        _lease(now, one_run=run_id is not None, postgres=postgres),
        {**bound, "token": token, "lease_seconds": lease_seconds, "limit": limit, "run_id": run_id},
    ).all()
    if not claimed:
        return []
    ids = [row.id for row in claimed]
    interrupted = listing(_INTERRUPTED, now, "ids")
    hit = {
        row.step_run_id for row in execute_listing(conn, interrupted, "ids", {**bound, "ids": ids})
    }
    if hit:
        counted = listing(_COUNT_INTERRUPTIONS, now, "hit")
        execute_listing(conn, counted, "hit", {"hit": sorted(hit)})
    # A step run's first claim has no attempts yet: count only where some were made (or
    # interrupted: a deferral after an interruption leaves that attempt, and no other).
    made: dict[str, int] = {}
    if hit or any(row.attempts_made or row.interruptions for row in claimed):
        made = {
            row.step_run_id: row.made
            for row in execute_listing(
                conn, listing(_ATTEMPTS_MADE, now, "ids"), "ids", {"ids": ids}
            )
        }
    sending = [
        {**bound, "id": attempt_id(), "step_run_id": row.id, "number": made.get(row.id, 0) + 1}
        for row in claimed
    ]
    execute(conn, prepared(_SENDING, now), sending)
    run_ids = sorted({row.run_id for row in claimed})
    running = listing(_RUNS_RUNNING, now, "run_ids")
    execute_listing(conn, running, "run_ids", {**bound, "run_ids": run_ids})
    inputs = _inputs(conn, run_ids)
    return [
        Claim.leased(
            row,
            token=token,
            interruptions=row.interruptions + (1 if row.id in hit else 0),
            next_number=attempt["number"],
            attempt_id=attempt["id"],
            input=inputs.get(row.run_id),
        )
        for row, attempt in zip(claimed, sending, strict=True)
    ]


def _inputs(conn: sa.Connection, run_ids: list[str]) -> dict[str, RunInput]:
    statement = listing(_INPUTS, ":now", "run_ids")
    rows = execute_listing(
        conn, statement, "run_ids", {"run_ids": run_ids, "largest": CLAIM_INPUT_BYTES}
    )
    json_value = result_reader(conn, sa.JSON())
    return {row.id: found for row in rows if (found := claimed_input(row, json_value))}
