"""Recording an attempt's end: the statements SQLite runs for it, prepared once (`prepared_sql.py`).

`merged_results.py` records the results of a group commit with them: on SQLite
each result's fence alone, then the rest of the batch's writes once per decision;
on PostgreSQL the same writes are one statement per decision. Every write for
claimed work is fenced by the lease token: the first statement is the fence, so a
refused result writes nothing. A result that carries a host outcome or wanted run
events records them after the fence, in the same transaction (`host_outcomes.py`,
`outbox.py`); one that carries neither (the common case) runs no statement more.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from callout.model.records import Decision
from callout.store.delivery_rules import paused_detail
from callout.store.host_outcomes import record_host_outcome
from callout.store.outbox import record_host_paused, record_run_events
from callout.store.prepared_sql import prepared
from callout.store.protocol import Claim, FinishedAttempt, LeaseLostError
from callout.store.run_events import EventType

# Every end clears what a deferral recorded (`deferrals.py`): the wait is over.
_STEP_ENDED_SET = (
    "UPDATE step_runs SET lease_token = NULL, updated_at = :now, wait_reason = NULL, "
    "waiting_for = NULL, deferrals = 0, attempts_made = attempts_made + 1, "
)
_FENCE = " WHERE id = :step_run_id AND lease_token = :lease_token"
_STEP_ENDED = {
    Decision.SUCCEEDED: _STEP_ENDED_SET
    + "due_at = NULL, status = 'succeeded', output = :output"
    + _FENCE,
    Decision.RETRY: _STEP_ENDED_SET + "due_at = :now + :retry_delay, status = 'waiting'" + _FENCE,
    Decision.ERRORED_CONTINUE: _STEP_ENDED_SET
    + "due_at = NULL, status = 'errored', error = :error, output = :output"
    + _FENCE,
    Decision.ERRORED_FAIL: _STEP_ENDED_SET
    + "due_at = NULL, status = 'errored', error = :error"
    + _FENCE,
}
_ATTEMPT_ENDED = (
    "UPDATE attempts SET status = :status, ended_at = :now, http_status = :http_status, "
    "error = :error, request = :request, response = :response, next_attempt_at = NULL "
    "WHERE id = :attempt_id"
)
_ATTEMPT_ENDED_RETRY = (
    "UPDATE attempts SET status = :status, ended_at = :now, http_status = :http_status, "
    "error = :error, request = :request, response = :response, "
    "next_attempt_at = :now + :retry_delay WHERE id = :attempt_id"
)
# A run has at most one pending step run per position (a resume adds one for the
# failed step and makes the skipped ones pending again).
_NEXT_STEP_DUE = (
    "UPDATE step_runs SET due_at = :now, updated_at = :now "
    "WHERE run_id = :run_id AND status = 'pending' "
    "AND position = (SELECT min(later.position) FROM step_runs AS later "
    "WHERE later.run_id = :run_id AND later.position > :position AND later.status = 'pending')"
)
_RUN_COMPLETED = (
    "UPDATE runs SET status = 'completed', updated_at = :now, finished_at = :now WHERE id = :run_id"
)
# The run completed unless `_NEXT_STEP_DUE` found it a next step (it stays pending).
_RUN_COMPLETED_UNLESS_NEXT = (
    _RUN_COMPLETED + " AND NOT EXISTS (SELECT 1 FROM step_runs AS later "  # noqa: S608 - constant
    "WHERE later.run_id = :run_id AND later.position > :position AND later.status = 'pending')"
)
_PENDING_SKIPPED = (
    "UPDATE step_runs SET status = 'skipped', due_at = NULL, updated_at = :now "
    "WHERE run_id = :run_id AND status = 'pending'"
)
_RUN_FAILED = (
    "UPDATE runs SET status = 'failed', updated_at = :now, finished_at = :now WHERE id = :run_id"
)


@dataclass(frozen=True, slots=True)
class ResultStatements:
    """The statements of one way of reading now (`:now`, or PostgreSQL's `now()`)."""

    step_ended: dict[Decision, sa.TextClause]
    attempt_ended: sa.TextClause
    attempt_ended_retry: sa.TextClause
    next_step_due: sa.TextClause
    run_completed: sa.TextClause
    run_completed_unless_next: sa.TextClause
    pending_skipped: sa.TextClause
    run_failed: sa.TextClause


@functools.cache
def result_statements(now: str) -> ResultStatements:
    """Return the statements recording a result, now written as `now`."""
    return ResultStatements(
        step_ended={decision: prepared(text, now) for decision, text in _STEP_ENDED.items()},
        attempt_ended=prepared(_ATTEMPT_ENDED, now),
        attempt_ended_retry=prepared(_ATTEMPT_ENDED_RETRY, now),
        next_step_due=prepared(_NEXT_STEP_DUE, now),
        run_completed=prepared(_RUN_COMPLETED, now),
        run_completed_unless_next=prepared(_RUN_COMPLETED_UNLESS_NEXT, now),
        pending_skipped=prepared(_PENDING_SKIPPED, now),
        run_failed=prepared(_RUN_FAILED, now),
    )


def result_row(claim: Claim, finished: FinishedAttempt) -> dict[str, Any]:
    """Return the parameters a result's statements take (here, or `merged_results.py`)."""
    return {
        "step_run_id": claim.step_run_id,
        "lease_token": claim.lease_token,
        "run_id": claim.run_id,
        "position": claim.position,
        "attempt_id": finished.attempt_id,
        "status": finished.status,
        "http_status": finished.http_status,
        "output": finished.output,
        "error": finished.error,
        "request": finished.request,
        "response": finished.response,
        "retry_delay": finished.retry_delay or 0.0,  # a retry's wait (RETRY only)
    }


def host_and_events(  # noqa: PLR0913 - the result, and how its transaction writes now
    conn: sa.Connection,
    claim: Claim,
    *,
    finished: FinishedAttempt,
    completed: bool | None,
    now: str,
    bound: dict[str, Any],
) -> bool:
    """Record what a fenced result tells delivery control, and the run events it causes.

    Returns True when a closed breaker made waiting step runs due (workers to wake).
    """
    woken = False
    host = finished.host
    if host is not None:
        verdict = record_host_outcome(
            conn, attempt_id=finished.attempt_id, outcome=host, now=now, bound=bound
        )
        if verdict is not None:
            woken = verdict.closed
            if verdict.opened and host.announce and EventType.HOST_PAUSED in finished.events:
                record_host_paused(
                    conn,
                    org_id=host.org_id,
                    host=host.host,
                    detail=paused_detail(verdict.row),
                    now=now,
                    bound=bound,
                )
    if finished.events:
        record_run_events(
            conn,
            run_id=claim.run_id,
            step_id=claim.step_id,
            decision=finished.decision,
            error=finished.error,
            wanted=finished.events,
            completed=completed,
            now=now,
            bound=bound,
        )
    return woken


def lease_lost(claim: Claim) -> LeaseLostError:
    """Return the error telling a claim's holder that its result was not recorded."""
    return LeaseLostError(
        f"the lease on step run {claim.step_run_id} was taken over; result not recorded"
    )
