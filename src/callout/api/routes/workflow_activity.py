"""Workflow activity: runs per hour and the failure rate, for one workflow or all at once.

The dashboard's charts (docs/dashboard.md, "Activity") read these. Hours are whole
clock hours in UTC: the last one is the hour now running, so a chart of 24 hours
spans 23 finished hours and the current one. A run counts in the hour it was
created, with the status it has now. The failure rate is failed / (completed +
failed) over the whole window; runs still in progress or cancelled are counted but
left out of the rate. The list's answer comes from one query whatever the number of
workflows (`RunReading.activity`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES
from callout.api.routes.workflows import WorkflowIdPath
from callout.model.records import RunStatus
from callout.model.timestamps import iso_utc
from callout.store.run_reading import ActivityCount

router = APIRouter(prefix="/v1", tags=["Workflows"], responses=ERROR_RESPONSES)

HOUR = 3600

MAX_HOURS = 24 * 7
"""The longest window asked for at once: a week of hours."""

HoursQuery = Annotated[
    int,
    Query(ge=1, le=MAX_HOURS, description="How many clock hours, the current one last"),
]


class HourOut(BaseModel):
    """The runs created within one clock hour, by the status they have now."""

    start: str = Field(description="The hour's first instant (UTC)")
    completed: int
    failed: int
    in_progress: int = Field(description="pending or running")
    cancelled: int


class WorkflowActivityOut(BaseModel):
    """One workflow's runs hour by hour, the totals, and the failure rate."""

    workflow_id: str
    hours: list[HourOut] = Field(description="Oldest first; the last is the current hour")
    completed: int
    failed: int
    in_progress: int
    cancelled: int
    failure_rate: float | None = Field(
        description="failed / (completed + failed) over the window; null when no run finished"
    )


class ActivityOut(WorkflowActivityOut):
    """A workflow's activity over a window of clock hours."""

    since: str = Field(description="The window's first instant (UTC)")
    until: str = Field(description="The window's end (exclusive)")


class ActivityPage(BaseModel):
    """The activity of every workflow that has runs in the window (others have none)."""

    since: str
    until: str
    data: list[WorkflowActivityOut]


def _window(now: float, hours: int) -> float:
    """Return the start of the window of `hours` whole hours that ends with the current one."""
    return (math.floor(now / HOUR) - hours + 1) * HOUR


def _activity(
    workflow_id: str, since: float, hours: int, counts: Iterable[ActivityCount]
) -> dict[str, Any]:
    """Spread the counts over the window's hours; add the totals and the failure rate."""
    columns = {
        RunStatus.COMPLETED.value: "completed",
        RunStatus.FAILED.value: "failed",
        RunStatus.PENDING.value: "in_progress",
        RunStatus.RUNNING.value: "in_progress",
        RunStatus.CANCELLED.value: "cancelled",
    }
    empty = {"completed": 0, "failed": 0, "in_progress": 0, "cancelled": 0}
    per_hour = [dict(empty) for _ in range(hours)]
    totals = dict(empty)
    for count in counts:
        column = columns.get(count.status)
        if column is not None and 0 <= count.bucket < hours:
            per_hour[count.bucket][column] += count.runs
            totals[column] += count.runs
    finished = totals["completed"] + totals["failed"]
    return {
        "workflow_id": workflow_id,
        "hours": [{"start": iso_utc(since + i * HOUR), **hour} for i, hour in enumerate(per_hour)],
        **totals,
        "failure_rate": round(totals["failed"] / finished, 4) if finished else None,
    }


@router.get("/workflow-activity", summary="Runs per hour of every workflow")
async def all_workflows(
    caller: CallerDep, request: Request, hours: HoursQuery = 24
) -> ActivityPage:
    """Return each workflow's runs per clock hour and failure rate (workflows with runs only)."""
    context = context_of(request)
    since = _window(context.clock.now(), hours)
    counts = await context.store.run_reading.activity(
        org_id=caller.org.id, since=since, bucket_seconds=HOUR, buckets=hours
    )
    by_workflow: dict[str, list[ActivityCount]] = {}
    for count in counts:
        by_workflow.setdefault(count.workflow_id, []).append(count)
    return ActivityPage(
        since=iso_utc(since),
        until=iso_utc(since + hours * HOUR),
        data=[
            WorkflowActivityOut.model_validate(_activity(workflow_id, since, hours, found))
            for workflow_id, found in by_workflow.items()
        ],
    )


@router.get("/workflows/{workflow_id}/activity", summary="Runs per hour of one workflow")
async def one_workflow(
    workflow_id: WorkflowIdPath, caller: CallerDep, request: Request, hours: HoursQuery = 24
) -> ActivityOut:
    """Return the workflow's runs per clock hour, their totals and its failure rate."""
    context = context_of(request)
    await context.store.workflows.get_workflow(org_id=caller.org.id, workflow_id=workflow_id)
    since = _window(context.clock.now(), hours)
    counts = await context.store.run_reading.activity(
        org_id=caller.org.id,
        since=since,
        bucket_seconds=HOUR,
        buckets=hours,
        workflow_id=workflow_id,
    )
    return ActivityOut.model_validate(
        _activity(workflow_id, since, hours, counts)
        | {"since": iso_utc(since), "until": iso_utc(since + hours * HOUR)}
    )
