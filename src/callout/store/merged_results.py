"""The results of one group commit, recorded together: one statement per decision on PostgreSQL.

A worker finishes many attempts a second, and the results queued while a commit
is in flight share the next one (`SqlStore.finish_attempt`). Each was four
statements of its own (`attempt_results.py`): on PostgreSQL each a round trip,
with its binding, execution and the driver's work on both sides; on SQLite each
a pass through SQLAlchemy and the driver while the file's write lock is held.

On SQLite each result's fence is a statement of its own (its row count says
whether its lease held); the batch's other writes are one `executemany` per
decision and statement, over the fenced results only: the attempts ended, each
run's next pending step made due, and the runs with none completed (only where a
next step was not found for every result), or for an error that fails its run
the rest skipped and the run failed.

On PostgreSQL the results of a batch with the same decision are one statement,
its rows from one JSON parameter (`prepared_sql.given_rows`), with the same writes
as data-modifying CTEs:

- `fenced`: each step run ended, only where the result's lease token still holds;
- `ended`: the attempts of the fenced results ended;
- `following` and `completed` (a success, or an error that continues): each run's
  next pending step made due, or, when it has none, the run completed;
- `skipped` and `failed` (an error that fails the run): the rest skipped, the run
  failed;
- workers woken (`pg_notify`) when a next step became due.

Each result is fenced alone: one whose lease was taken over writes nothing and its
caller alone is refused (`merged_writes.Refused`); the others are recorded. What a
result adds for delivery control and run events (rare) is written after the
statement, result by result (`attempt_results.host_and_events`). The statement
runs on a generic plan that reaches its tables by key (`planned_generically`): it
is one text for any number of results, planned once per connection.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from callout.model.records import Decision
from callout.store.attempt_results import (
    host_and_events,
    lease_lost,
    result_row,
    result_statements,
)
from callout.store.merged_writes import Refused
from callout.store.notifications import DUE_CHANNEL
from callout.store.prepared_sql import (
    RowColumns,
    execute,
    given_rows,
    now_parameters,
    planned_generically,
    prepared,
    rows_parameter,
)
from callout.store.protocol import Claim, FinishedAttempt

_RESULT_COLUMNS: RowColumns = (
    ("step_run_id", "TEXT"),
    ("lease_token", "TEXT"),
    ("run_id", "TEXT"),
    ("position", "INTEGER"),
    ("attempt_id", "TEXT"),
    ("status", "TEXT"),
    ("http_status", "INTEGER"),
    ("output", "JSON"),
    ("error", "JSON"),
    ("request", "JSON"),
    ("response", "JSON"),
    ("retry_delay", "DOUBLE PRECISION"),
)

# What a step run's end sets, as `attempt_results` sets it, by decision.
_STEP_ENDED = {
    Decision.SUCCEEDED: "due_at = NULL, status = 'succeeded', output = r.output",
    Decision.RETRY: "due_at = :now + r.retry_delay, status = 'waiting'",
    Decision.ERRORED_CONTINUE: "due_at = NULL, status = 'errored', error = r.error, "
    "output = r.output",
    Decision.ERRORED_FAIL: "due_at = NULL, status = 'errored', error = r.error",
}
_FENCED = (
    "fenced AS (UPDATE step_runs SET lease_token = NULL, updated_at = :now, "
    "wait_reason = NULL, waiting_for = NULL, deferrals = 0, "
    "attempts_made = attempts_made + 1, {ended} FROM {rows} "
    "WHERE step_runs.id = r.step_run_id AND step_runs.lease_token = r.lease_token "
    "RETURNING r.*)"
)
_ENDED = (
    "ended AS (UPDATE attempts SET status = f.status, ended_at = :now, "
    "http_status = f.http_status, error = f.error, request = f.request, "
    "response = f.response, next_attempt_at = {next_attempt} "
    "FROM fenced AS f WHERE attempts.id = f.attempt_id)"
)
_MOVED_ON = (
    "following AS (UPDATE step_runs SET due_at = :now, updated_at = :now FROM fenced AS f "
    "WHERE step_runs.run_id = f.run_id AND step_runs.status = 'pending' "
    "AND step_runs.position = (SELECT min(later.position) FROM step_runs AS later "
    "WHERE later.run_id = f.run_id AND later.position > f.position "
    "AND later.status = 'pending') RETURNING step_runs.run_id), "
    "completed AS (UPDATE runs SET status = 'completed', updated_at = :now, "
    "finished_at = :now FROM fenced AS f WHERE runs.id = f.run_id "
    "AND NOT EXISTS (SELECT 1 FROM following WHERE following.run_id = f.run_id))"
)
_FAILED = (
    "skipped AS (UPDATE step_runs SET status = 'skipped', due_at = NULL, updated_at = :now "
    "FROM fenced AS f WHERE step_runs.run_id = f.run_id AND step_runs.status = 'pending'), "
    "failed AS (UPDATE runs SET status = 'failed', updated_at = :now, finished_at = :now "
    "FROM fenced AS f WHERE runs.id = f.run_id)"
)


@functools.cache
def results_sql(decision: Decision, now: str) -> sa.TextClause:
    """Return the statement recording many results of `decision`, now written as `now`."""
    parts = [
        _FENCED.format(ended=_STEP_ENDED[decision], rows=given_rows("r", _RESULT_COLUMNS)),
        _ENDED.format(
            next_attempt=":now + f.retry_delay" if decision is Decision.RETRY else "NULL"
        ),
    ]
    answer = "SELECT ARRAY(SELECT attempt_id FROM fenced) AS fenced"
    if decision is Decision.ERRORED_FAIL:
        parts.append(_FAILED)
    elif decision is not Decision.RETRY:
        parts.append(_MOVED_ON)
        answer += ", (SELECT pg_notify(:channel, '') FROM following LIMIT 1) AS woken"
    return prepared("WITH " + ", ".join(parts) + " " + answer, now)


Results = Sequence[tuple[Claim, FinishedAttempt]]
"""The results of one group commit, each with the claim it ends."""


def record_results(conn: sa.Connection, results: Results) -> tuple[list[Refused | None], bool]:
    """Record `results` in `conn`'s transaction, each fenced by its lease.

    Returns, for each result in order, None (recorded) or `Refused` (its lease was
    taken over: nothing of it written); and whether workers are yet to be woken (a
    closed breaker made waiting step runs due, or on SQLite a next step due; on
    PostgreSQL a next step due wakes them itself).
    """
    now, bound = now_parameters(conn)
    if conn.dialect.name == "postgresql":
        recorded, woken = _in_one_statement(conn, results, now, bound), False
    else:
        recorded, woken = _fenced_one_by_one(conn, results, now, bound)
    outcomes: list[Refused | None] = []
    for claim, finished in results:
        # By attempt: a result of a lease taken over may share the batch with the new
        # holder's result for the same step run.
        if finished.attempt_id not in recorded:
            outcomes.append(Refused(lease_lost(claim)))
            continue
        outcomes.append(None)
        if (finished.host is not None or finished.events) and host_and_events(
            # The run's status tells whether it completed.
            conn,
            claim,
            finished=finished,
            completed=None,
            now=now,
            bound=bound,
        ):
            woken = True
    return outcomes, woken


def _by_decision(results: Results) -> dict[Decision, list[tuple[Claim, FinishedAttempt]]]:
    grouped: dict[Decision, list[tuple[Claim, FinishedAttempt]]] = {}
    for result in results:
        grouped.setdefault(result[1].decision, []).append(result)
    return grouped


def _in_one_statement(
    conn: sa.Connection, results: Results, now: str, bound: dict[str, Any]
) -> set[str]:
    """PostgreSQL: one statement per decision; return the attempts whose lease held."""
    planned_generically(conn)
    recorded: set[str] = set()
    for decision, grouped in _by_decision(results).items():
        rows = [result_row(*result) for result in grouped]
        parameters = {
            **bound,
            **rows_parameter("r", rows, _RESULT_COLUMNS),
            "channel": DUE_CHANNEL,
        }
        recorded.update(conn.execute(results_sql(decision, now), parameters).scalar_one())
    return recorded


def _fenced_one_by_one(
    conn: sa.Connection, results: Results, now: str, bound: dict[str, Any]
) -> tuple[set[str], bool]:
    """SQLite: each fence alone, the rest per decision; the attempts recorded, and woken."""
    statements = result_statements(now)
    recorded: set[str] = set()
    woken = False
    for decision, grouped in _by_decision(results).items():
        fenced = []
        for claim, finished in grouped:
            row = {**bound, **result_row(claim, finished)}
            if execute(conn, statements.step_ended[decision], row).rowcount == 1:
                fenced.append(row)
                recorded.add(finished.attempt_id)
        if not fenced:
            continue
        retry = decision is Decision.RETRY
        execute(conn, statements.attempt_ended_retry if retry else statements.attempt_ended, fenced)
        if decision is Decision.ERRORED_FAIL:
            execute(conn, statements.pending_skipped, fenced)
            execute(conn, statements.run_failed, fenced)
        elif not retry:
            following = execute(conn, statements.next_step_due, fenced).rowcount
            woken = woken or following > 0
            if following == 0:
                execute(conn, statements.run_completed, fenced)
            elif following < len(fenced):
                execute(conn, statements.run_completed_unless_next, fenced)
    return recorded, woken
