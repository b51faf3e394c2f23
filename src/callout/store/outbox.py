"""Run events recorded in the transaction of the result that caused them (the outbox, SQL).

Only the types the organization wants (`FinishedAttempt.events`) are written.
A run's events take its organization from its row: a run of no organization,
or of the organization's system workflow (its runs are the notifications),
raises none. A worker turns the rows into notification runs later
(`RunEventRecords.dispatch`).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from callout.model.ids import new_id
from callout.model.records import Decision
from callout.store.prepared_sql import prepared
from callout.store.run_events import EventType

_OF_RUN = (
    "INSERT INTO run_events (id, org_id, type, run_id, step_id, error, created_at) "
    "SELECT :id, runs.org_id, :type, runs.id, :step_id, :error, :now FROM runs "
    "JOIN organizations ON organizations.id = runs.org_id WHERE runs.id = :run_id "
    "AND NOT EXISTS (SELECT 1 FROM workflows WHERE workflows.id = runs.workflow_id "
    "AND workflows.system){completed}"
)
_OF_HOST = (
    "INSERT INTO run_events (id, org_id, type, host, detail, created_at) "
    "SELECT :id, organizations.id, :type, :host, :detail, :now FROM organizations "
    "WHERE organizations.id = :org_id"
)


@functools.cache
def _of_run(now: str, *, completed: bool) -> sa.TextClause:
    # Only a result that completed the run finds it completed: it held the lease on its step.
    return prepared(
        _OF_RUN.format(completed=" AND runs.status = 'completed'" if completed else ""), now
    )


@functools.cache
def _of_host(now: str) -> sa.TextClause:
    return prepared(_OF_HOST, now).bindparams(sa.bindparam("detail", type_=sa.JSON))


def record_run_events(  # noqa: PLR0913 - the result, and how its transaction writes now
    conn: sa.Connection,
    *,
    run_id: str,
    step_id: str,
    decision: Decision,
    error: dict[str, Any] | None,
    wanted: frozenset[str],
    completed: bool | None,
    now: str,
    bound: dict[str, float],
) -> None:
    """Record the run's events this result causes, of the `wanted` types.

    `completed`: whether the result completed the run; None when unknown (the run's
    status then tells). Ids sort by this process's clock (they order, decide nothing).
    """
    errored = decision in (Decision.ERRORED_CONTINUE, Decision.ERRORED_FAIL)
    rows: list[dict[str, Any]] = []
    if errored and EventType.STEP_ERRORED in wanted:
        rows.append({"type": EventType.STEP_ERRORED.value, "step_id": step_id, "error": error})
    if decision is Decision.ERRORED_FAIL and EventType.RUN_FAILED in wanted:
        rows.append({"type": EventType.RUN_FAILED.value, "step_id": step_id, "error": error})
    keys = {**bound, "run_id": run_id}
    if rows:
        conn.execute(
            _of_run(now, completed=False), [{**keys, **row, "id": new_id("evt")} for row in rows]
        )
    finishing = decision in (Decision.SUCCEEDED, Decision.ERRORED_CONTINUE)
    if finishing and completed is not False and EventType.RUN_COMPLETED in wanted:
        conn.execute(
            _of_run(now, completed=True),
            {
                **keys,
                "id": new_id("evt"),
                "type": EventType.RUN_COMPLETED.value,
                "step_id": None,
                "error": None,
            },
        )


def record_host_paused(  # noqa: PLR0913 - the event, and how its transaction writes now
    conn: sa.Connection,
    *,
    org_id: str,
    host: str,
    detail: dict[str, Any],
    now: str,
    bound: dict[str, float],
) -> None:
    """Record that the breaker paused `host` (its failures, next probe and last error)."""
    conn.execute(
        _of_host(now),
        {
            **bound,
            "id": new_id("evt"),
            "type": EventType.HOST_PAUSED.value,
            "org_id": org_id,
            "host": host,
            "detail": detail,
        },
    )
