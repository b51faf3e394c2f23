"""The run events a result records in memory (`MemoryStore.outbox`), as `outbox.py` does in SQL.

Only the types the organization wants are recorded; a run of no organization,
or of the organization's system workflow, raises none (the memory store checks
that before asking here).
"""

from __future__ import annotations

import copy

from callout.model.ids import new_id
from callout.model.records import Decision
from callout.store.delivery import HostOutcome
from callout.store.delivery_rules import HostRow, paused_detail
from callout.store.protocol import Claim, FinishedAttempt, StoredRun
from callout.store.run_events import EventType, RunEvent


def result_events(
    run: StoredRun, claim: Claim, finished: FinishedAttempt, *, completed: bool, now: float
) -> list[RunEvent]:
    """Return the events of the run `finished` causes, of the types it carries as wanted."""
    if run.org_id is None:
        return []
    decision = finished.decision
    kinds = []
    if decision in (Decision.ERRORED_CONTINUE, Decision.ERRORED_FAIL):
        kinds.append(EventType.STEP_ERRORED)
    if decision is Decision.ERRORED_FAIL:
        kinds.append(EventType.RUN_FAILED)
    if completed:
        kinds.append(EventType.RUN_COMPLETED)
    events = []
    for kind in kinds:
        if kind not in finished.events:
            continue
        of_step = kind is not EventType.RUN_COMPLETED
        events.append(
            RunEvent(
                id=new_id("evt"),
                org_id=run.org_id,
                type=kind,
                created_at=now,
                run_id=run.id,
                workflow_id=run.workflow_id,
                workflow_name=run.workflow_name,
                step_id=claim.step_id if of_step else None,
                error=copy.deepcopy(finished.error) if of_step else None,
            )
        )
    return events


def host_paused(outcome: HostOutcome, row: HostRow, *, now: float) -> RunEvent:
    """Return the event of a host the breaker just paused."""
    return RunEvent(
        id=new_id("evt"),
        org_id=outcome.org_id,
        type=EventType.HOST_PAUSED,
        created_at=now,
        host=outcome.host,
        detail=paused_detail(row),
    )
