"""Runs: list, get with steps and attempts (requests and responses redacted), resume, cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.api.pages import CursorQuery, LimitQuery, PageInfo, page_of
from callout.engine.report import step_report
from callout.engine.starting import resume_run
from callout.model.errors import Problem
from callout.model.records import RunStatus
from callout.model.timestamps import iso_utc
from callout.store.organizations import Caller
from callout.store.protocol import RunFilter, StoredRun, UnknownRunError

router = APIRouter(prefix="/v1/runs", tags=["Runs"], responses=ERROR_RESPONSES)

RunIdPath = Annotated[str, Path(max_length=64, pattern=r"^wfr_[0-9A-Z]+$")]


class RecordedRequestOut(BaseModel):
    """A request as sent, every secret value replaced by `[redacted]`."""

    method: str
    url: str
    headers: list[list[str]] = Field(description="[name, value] pairs, in order")
    body: str


class RecordedResponseOut(BaseModel):
    """A response as received (the body kept up to 64 KiB)."""

    status: int
    headers: list[list[str]]
    body: str
    body_truncated: bool


class StepErrorOut(BaseModel):
    """Why a step or attempt failed."""

    type: str
    message: str
    status: int | None = None
    body: Any = None


class AttemptOut(BaseModel):
    """One attempt: when, how long, how it ended, and what was sent and received."""

    number: int
    started_at: str
    duration_ms: int | None
    outcome: str = Field(description="sending, succeeded, failed or interrupted")
    status: int | None = None
    error: StepErrorOut | None = None
    next_attempt_at: str | None = Field(default=None, description="When the retry is due")
    request: RecordedRequestOut | None = None
    response: RecordedResponseOut | None = None


class StepRunOut(BaseModel):
    """A step's run within a run, with its attempts."""

    id: str = Field(description="The step's id in the document")
    step_run_id: str = Field(description="Also the Idempotency-Key its requests carry")
    status: str
    attempts: list[AttemptOut]
    resumed_from: str | None = None
    next_attempt_at: str | None = None
    output: dict[str, Any] | None = None
    error: StepErrorOut | None = None


class RunSummaryOut(BaseModel):
    """A run as lists show it."""

    id: str
    workflow_id: str | None
    workflow_name: str
    version_id: str | None
    status: RunStatus
    created_at: str
    updated_at: str
    finished_at: str | None


class RunOut(RunSummaryOut):
    """A run with its trigger payload and every step run and attempt."""

    trigger: Any
    steps: list[StepRunOut]


class RunPage(PageInfo):
    """A page of runs, newest first."""

    data: list[RunSummaryOut]


class ResumedOut(BaseModel):
    """A resumed run, and the new step run (with its new idempotency key)."""

    run: RunSummaryOut
    step_run_id: str


def _summary_fields(run: StoredRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "workflow_name": run.workflow_name,
        "version_id": run.version_id,
        "status": RunStatus(run.status),
        "created_at": iso_utc(run.created_at),
        "updated_at": iso_utc(run.updated_at),
        "finished_at": iso_utc(run.finished_at) if run.finished_at is not None else None,
    }


async def _own_run(request: Request, caller: Caller, run_id: str) -> StoredRun:
    """Return the run if it belongs to the caller's organization; 404 otherwise, alike."""
    run = await context_of(request).store.get_run(run_id)
    if run.org_id != caller.org.id:
        raise UnknownRunError(f"no run {run_id}")
    return run


def _time(value: datetime | None, name: str) -> float | None:
    """Unix seconds of a query time; a time without an offset is UTC (not the server's zone)."""
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError):
        raise ApiError(
            422,
            "invalid_request",
            "the request has 1 problem(s)",
            [Problem(f"query.{name}", "is outside the times callout can compare")],
        ) from None


@router.get("", summary="List runs")
async def list_all(  # noqa: PLR0913, PLR0917 - each filter is a query parameter
    caller: CallerDep,
    request: Request,
    workflow_id: Annotated[str | None, Query(max_length=64, pattern=r"^wfl_[0-9A-Z]+$")] = None,
    status: Annotated[RunStatus | None, Query()] = None,
    created_after: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    created_before: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> RunPage:
    """Return the organization's runs, newest first, filtered by workflow, status and time."""
    found = await context_of(request).store.list_runs(
        limit=limit + 1,
        where=RunFilter(
            org_id=caller.org.id,
            workflow_id=workflow_id,
            status=status.value if status else None,
            created_after=_time(created_after, "created_after"),
            created_before=_time(created_before, "created_before"),
            before_id=cursor,
        ),
    )
    page, cursor = page_of(found, limit, lambda run: run.id)
    return RunPage(data=[RunSummaryOut(**_summary_fields(run)) for run in page], next_cursor=cursor)


@router.get("/{run_id}", summary="Get a run with its steps and attempts")
async def get_one(run_id: RunIdPath, caller: CallerDep, request: Request) -> RunOut:
    """Return a run: every step run, every attempt with timing, request and response."""
    run = await _own_run(request, caller, run_id)
    return RunOut.model_validate(
        _summary_fields(run)
        | {"trigger": run.trigger, "steps": [step_report(step) for step in run.steps]}
    )


@router.post("/{run_id}/resume", summary="Resume a failed run")
async def resume(run_id: RunIdPath, caller: CallerDep, request: Request) -> ResumedOut:
    """Run the failed step again, as a new step run with a new idempotency key."""
    context = context_of(request)
    await _own_run(request, caller, run_id)
    step_run_id = await resume_run(context.store, run_id, clock=context.clock)
    context.new_work()
    run = await context.store.get_run(run_id)
    return ResumedOut(run=RunSummaryOut(**_summary_fields(run)), step_run_id=step_run_id)


@router.post("/{run_id}/cancel", summary="Cancel a run")
async def cancel(run_id: RunIdPath, caller: CallerDep, request: Request) -> RunSummaryOut:
    """Stop a pending or running run: nothing more is sent; a result in flight is dropped."""
    context = context_of(request)
    await _own_run(request, caller, run_id)
    await context.store.cancel(run_id, now=context.clock.now())
    return RunSummaryOut(**_summary_fields(await context.store.get_run(run_id)))
