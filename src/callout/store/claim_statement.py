"""A claim on PostgreSQL as one statement: lease, interrupt, record `sending`, read inputs.

`claims.py` claims in up to six statements, each a round trip on PostgreSQL; a
worker claims many times a second, and a full one claims a slot at a time. Here
the same writes are data-modifying CTEs of one statement, all on one snapshot:

- `due`: the due step runs (`FOR UPDATE SKIP LOCKED`), oldest first.
- `tally`: each one's attempts counted, and whether one is `sending` (its worker
  died mid-attempt).
- `leased`: those step runs leased with a new token; one with a `sending` attempt
  counts one more interruption in the same update (a row is updated once per
  statement).
- `interrupted`: those `sending` attempts marked interrupted.
- `sending`: each leased step run's attempt, numbered after every attempt it has;
  its id is one id the caller made, its last two digits the row's place.
- `running`: their runs marked running.
- The rows come back with each run's input, as `claims._inputs` reads it.

Every table is reached by key from the few rows leased: by id (`= ANY(ARRAY(...))`),
or per row (the `LATERAL` count), never by a condition the whole table must be
scanned for (`IN (subquery)` and `EXISTS` let the planner hash a scan of all of
`attempts` or `runs`, a cost that grows with the tables). It runs on a generic
plan at most a second old (`prepared_sql.planned_generically`): not planned for
each call, and not kept from a young database, whose small tables it would scan
for ever after (docs/durability.md, "PostgreSQL plans").

The same answers as `claims.claim_due` (`tests/integration/durable/` runs the
claim and crash tests on both databases).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from callout.model.ids import ID_DIGITS
from callout.store.prepared_sql import (
    now_parameters,
    planned_generically,
    prepared,
    result_reader,
)
from callout.store.protocol import CLAIM_INPUT_BYTES, Claim, RunInput

# A claim's attempt ids: one new id's first 28 characters, then the row's place in two
# base32 digits (so at most `MOST_AT_ONCE` a claim): unique, time-sorted, one id made.
_ATTEMPT_ID = (
    "(:attempt_base || substr(:digits, CAST((place - 1) / 32 AS INTEGER) + 1, 1) "
    "|| substr(:digits, CAST((place - 1) % 32 AS INTEGER) + 1, 1))"
)
MOST_AT_ONCE = 32 * 32
"""Step runs one claim statement leases at most (a worker asking more claims again)."""
_CLAIM = (
    "WITH due AS MATERIALIZED (SELECT id FROM step_runs "  # noqa: S608 - constant SQL only
    "WHERE due_at <= :now{one_run} ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED), "
    "tally AS MATERIALIZED (SELECT due.id, t.made, t.hit FROM due CROSS JOIN LATERAL ("
    "SELECT count(*) AS made, count(*) FILTER (WHERE a.status = 'sending') > 0 AS hit "
    "FROM attempts AS a WHERE a.step_run_id = due.id) AS t), "
    "leased AS (UPDATE step_runs SET lease_token = :token, "
    "due_at = :now + timeout + :lease_seconds, status = 'running', updated_at = :now, "
    "interruptions = interruptions + CASE WHEN tally.hit THEN 1 ELSE 0 END "
    "FROM tally WHERE step_runs.id = ANY(ARRAY(SELECT id FROM due)) "
    "AND step_runs.id = tally.id "
    "RETURNING step_runs.id, run_id, position, step_id, attempts_made, interruptions, "
    "due_at, tally.hit, tally.made), "
    "numbered AS (SELECT leased.*, row_number() OVER (ORDER BY due_at, id) AS place "
    "FROM leased), "
    "interrupted AS (UPDATE attempts SET status = 'interrupted', ended_at = :now "
    "WHERE step_run_id = ANY(ARRAY(SELECT id FROM leased WHERE hit)) "
    "AND status = 'sending'), "
    "sending AS (INSERT INTO attempts (id, step_run_id, number, status, started_at) "
    f"SELECT {_ATTEMPT_ID}, id, made + 1, 'sending', :now "
    "FROM numbered), "
    "running AS (UPDATE runs SET status = 'running', updated_at = :now "
    "WHERE id = ANY(ARRAY(SELECT run_id FROM leased)) AND (status = 'pending') IS TRUE) "
    "SELECT numbered.id, numbered.run_id, position, step_id, attempts_made, interruptions, "
    f"numbered.due_at, made + 1 AS number, {_ATTEMPT_ID} AS attempt_id, "
    "runs.org_id, runs.version_id, "
    "CASE WHEN length(CAST(runs.trigger AS TEXT)) <= :largest THEN runs.trigger END AS trigger, "
    "length(CAST(runs.trigger AS TEXT)) <= :largest AS small, "
    "CASE WHEN runs.version_id IS NULL THEN runs.document END AS document "
    "FROM numbered JOIN runs ON runs.id = numbered.run_id "
    "WHERE runs.id = ANY(ARRAY(SELECT run_id FROM leased)) ORDER BY place"
)


@functools.cache
def claim_sql(now: str, *, one_run: bool) -> sa.TextClause:
    """Return the claim statement, the database's now written as `now`, for one run or any."""
    return prepared(_CLAIM.format(one_run=" AND run_id = :run_id" if one_run else ""), now)


def claim_at_once(
    conn: sa.Connection,
    *,
    lease_seconds: float,
    limit: int,
    run_id: str | None,
    attempt_id: Callable[[], str],
) -> list[Claim]:
    """Lease up to `limit` due step runs and record each one's attempt as `sending` (PostgreSQL)."""
    token = secrets.token_hex(16)
    now, bound = now_parameters(conn)
    parameters = {
        **bound,
        "token": token,
        "lease_seconds": lease_seconds,
        "limit": min(limit, MOST_AT_ONCE),
        "run_id": run_id,
        "attempt_base": attempt_id()[:-2],
        "digits": ID_DIGITS,
        "largest": CLAIM_INPUT_BYTES,
    }
    planned_generically(conn)
    rows = conn.execute(claim_sql(now, one_run=run_id is not None), parameters).all()
    json_value = result_reader(conn, sa.JSON())
    return [
        Claim.leased(
            row,
            token=token,
            interruptions=row.interruptions,
            next_number=row.number,
            attempt_id=row.attempt_id,
            input=claimed_input(row, json_value),
        )
        for row in rows
    ]


def claimed_input(row: Any, json_value: Callable[[Any], Any]) -> RunInput | None:
    """Return the run input a claim's row carries, or None: its trigger is read on its own."""
    if not (row.small or row.small is None):  # NULL: a trigger of JSON null, stored as NULL
        return None
    return RunInput(
        document=json_value(row.document),
        trigger=json_value(row.trigger),
        org_id=row.org_id,
        version_id=row.version_id,
    )
