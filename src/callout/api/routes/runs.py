"""Runs: list, get with steps and attempts (requests and responses redacted), resume, cancel.

`GET /v1/runs/{id}` answers the run view, bounded in size whatever the run holds
(`store/run_reading.py`), with an `ETag`: a page polling it gets 304 while nothing
changed. One step run whole, and the whole trigger, have their own routes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.api.pages import CursorQuery, LimitQuery, PageInfo, page_of
from callout.engine.report import run_view_report, step_run_report
from callout.engine.starting import resume_run
from callout.model.errors import Problem
from callout.model.records import RunStatus
from callout.model.timestamps import iso_utc
from callout.steps.https_request.outcome import parse_retry_after
from callout.store.account_records import Caller
from callout.store.protocol import RunFilter, StoredRun, StoredStepRun, UnknownRunError
from callout.store.run_reading import VIEW_ATTEMPTS

router = APIRouter(prefix="/v1/runs", tags=["Runs"], responses=ERROR_RESPONSES)

RunIdPath = Annotated[str, Path(max_length=64, pattern=r"^wfr_[0-9A-Z]+$")]
StepRunIdPath = Annotated[str, Path(max_length=64, pattern=r"^stp_[0-9A-Z]+$")]

CUT = (
    "The body is cut: `body` is the start of its text (of its JSON text for JSON). "
    "The attempt log keeps 64 KiB of each body; a run view shows less. "
    "`GET /v1/runs/{run_id}/steps/{step_run_id}` gives what was recorded."
)
REMOVED = (
    "Retention removed the body (the organization's `body_retention_days`, "
    "docs/ops/retention.md): `body` is empty; the rest of the record stays"
)


class RecordedRequestOut(BaseModel):
    """A request as sent, every secret value replaced by `[redacted]`."""

    method: str
    url: str
    headers: list[list[str]] = Field(description="[name, value] pairs, in order")
    body: str
    body_truncated: bool = Field(default=False, description=CUT)
    body_removed: bool = Field(default=False, description=REMOVED)
    headers_truncated: bool = Field(
        default=False, description="The headers did not fit the run view and are left out"
    )


class RecordedResponseOut(BaseModel):
    """A response as received (the body kept up to 64 KiB)."""

    status: int
    headers: list[list[str]]
    body: str
    body_truncated: bool = Field(description=CUT)
    body_removed: bool = Field(default=False, description=REMOVED)
    headers_truncated: bool = Field(
        default=False, description="The headers did not fit the run view and are left out"
    )


class StepErrorOut(BaseModel):
    """Why a step or attempt failed."""

    type: str
    message: str
    status: int | None = None
    body: Any = None
    body_truncated: bool = Field(
        default=False,
        description="`body` is the start of the response's text: the body was over the "
        "64 KiB an error keeps, or over a run view's share",
    )
    body_removed: bool = Field(default=False, description=REMOVED)


class AttemptOut(BaseModel):
    """One attempt: when, how long, how it ended, and what was sent and received."""

    number: int
    started_at: str
    duration_ms: int | None
    outcome: str = Field(description="sending, succeeded, failed or interrupted")
    status: int | None = None
    error: StepErrorOut | None = None
    next_attempt_at: str | None = Field(default=None, description="When the retry is due")
    ended_at: str | None = Field(
        default=None,
        description="When the attempt ended: answered, timed out or broke off; null while "
        "it is being sent",
    )
    retry_after: float | None = Field(
        default=None,
        description="Seconds the server asked to wait (its `Retry-After`; a date is read "
        "against the response's `Date`); null when the response had none",
    )
    request: RecordedRequestOut | None = None
    response: RecordedResponseOut | None = None


class StepRunOut(BaseModel):
    """A step's run within a run, with its attempts."""

    id: str = Field(description="The step's id in the document")
    step_run_id: str = Field(description="Also the Idempotency-Key its requests carry")
    status: str
    attempts: list[AttemptOut]
    attempts_total: int = Field(
        description=f"How many attempts the step run made; a run view lists the latest "
        f"{VIEW_ATTEMPTS}, `GET /v1/runs/{{run_id}}/steps/{{step_run_id}}` all of them"
    )
    resumed_from: str | None = None
    next_attempt_at: str | None = None
    wait_reason: str | None = Field(
        default=None,
        description="Why a `pending` step has not been sent yet when delivery control holds "
        "it back (a host's limit, or a paused host), e.g. \"waiting for a slot: at most 5 "
        'requests in flight to api.example.com"',
    )
    output: dict[str, Any] | None = Field(
        default=None,
        description="`{status, headers, body}` as later steps read it; `body_truncated: "
        "true` when `body` is the start of the body's text (over the output budget, or "
        "over a run view's share); `body_removed: true` when retention removed it (`body` "
        "is null)",
    )
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
    bodies_removed_at: str | None = Field(
        default=None,
        description="When retention removed the run's bodies (its trigger payload, request "
        "and response bodies, step outputs; docs/ops/retention.md): each such body reads "
        '`""` or null beside `body_removed: true`; a failed run without them cannot be '
        "resumed. Null while it has them",
    )


class RunOut(RunSummaryOut):
    """A run with its trigger payload and every step run, each with its latest attempts.

    Bounded in size: bodies and values get an equal share of about 1 MiB (at most
    16 KiB each); what does not fit is cut and flagged (docs/service.md, "Reading a run").
    """

    trigger: Any = Field(
        description="The payload; its JSON text's start when cut; null once retention removed "
        "it (`bodies_removed_at`)"
    )
    trigger_truncated: bool = Field(
        description="The payload is over 16 KiB: `trigger` is the start of its JSON text; "
        "`GET /v1/runs/{run_id}/trigger` gives it whole"
    )
    steps: list[StepRunOut]


class RunTriggerOut(BaseModel):
    """A run's whole trigger payload."""

    run_id: str
    trigger: Any


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
        "bodies_removed_at": (
            iso_utc(run.bodies_removed_at) if run.bodies_removed_at is not None else None
        ),
    }


async def _own_run(request: Request, caller: Caller, run_id: str) -> StoredRun:
    """Return the run (without its steps) if it is the caller's organization's; else 404."""
    run = await context_of(request).store.run_reading.run_summary(run_id)
    if run.org_id != caller.org.id:
        raise UnknownRunError(f"no run {run_id}")
    return run


def _header(response: dict[str, Any] | None, name: str) -> str | None:
    """Return a recorded response's header value (the first of that name), if shown."""
    for pair in (response or {}).get("headers") or []:
        if isinstance(pair, list) and len(pair) == 2 and str(pair[0]).lower() == name:
            return str(pair[1])
    return None


def _with_timing(steps: Sequence[StoredStepRun], reports: list[dict[str, Any]]) -> None:
    """Add each attempt's end and the server's `Retry-After` to the step reports (timelines)."""
    for step, report in zip(steps, reports, strict=True):
        for attempt, out in zip(step.attempts, report["attempts"], strict=True):
            ended = attempt.ended_at
            out["ended_at"] = iso_utc(ended) if ended is not None else None
            out["retry_after"] = parse_retry_after(
                _header(attempt.response, "retry-after"),
                date_header=_header(attempt.response, "date"),
                now=ended if ended is not None else attempt.started_at,
            )


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _unchanged(if_none_match: str | None, etag: str) -> bool:
    """Say whether `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2)."""
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


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


@router.get(
    "/{run_id}",
    summary="Get a run with its steps and attempts",
    response_model=RunOut,
    responses={
        200: {"headers": {"ETag": {"description": "Send it back in If-None-Match"}}},
        304: {"description": "Unchanged since the `ETag` given in `If-None-Match`"},
    },
)
async def get_one(
    run_id: RunIdPath,
    caller: CallerDep,
    request: Request,
    if_none_match: Annotated[
        str | None,
        Header(max_length=1024, description="The `ETag` of a run view already read: 304 if same"),
    ] = None,
) -> Response:
    """Return a run: every step run, its latest attempts with timing, request and response.

    Bounded in size whatever the run holds; large bodies are cut and flagged.
    """
    view = await context_of(request).store.run_reading.run_view(run_id)
    if view.run.org_id != caller.org.id:
        raise UnknownRunError(f"no run {run_id}")
    report = run_view_report(view)
    _with_timing(view.run.steps, report["steps"])
    body = (
        RunOut.model_validate(
            _summary_fields(view.run)
            | {
                "trigger": report["trigger"],
                "trigger_truncated": report["trigger_truncated"],
                "steps": report["steps"],
            }
        )
        .model_dump_json()
        .encode()
    )
    etag = _etag(body)
    # no-cache: a browser may keep the view, but asks each time (and gets 304 if unchanged).
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _unchanged(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/{run_id}/steps/{step_run_id}", summary="Get one step run whole")
async def get_step_run(
    run_id: RunIdPath, step_run_id: StepRunIdPath, caller: CallerDep, request: Request
) -> StepRunOut:
    """Return one step run with every attempt, its output and error as recorded (not cut)."""
    await _own_run(request, caller, run_id)
    step = await context_of(request).store.run_reading.step_run(run_id, step_run_id)
    report = step_run_report(step)
    _with_timing([step], [report])
    return StepRunOut.model_validate(report)


@router.get("/{run_id}/trigger", summary="Get a run's whole trigger payload")
async def get_trigger(run_id: RunIdPath, caller: CallerDep, request: Request) -> RunTriggerOut:
    """Return the payload the run was triggered with, whole (the run view cuts it at 16 KiB)."""
    await _own_run(request, caller, run_id)
    trigger = await context_of(request).store.run_reading.trigger(run_id)
    return RunTriggerOut(run_id=run_id, trigger=trigger)


@router.post("/{run_id}/resume", summary="Resume a failed run")
async def resume(run_id: RunIdPath, caller: CallerDep, request: Request) -> ResumedOut:
    """Run the failed step again, as a new step run with a new idempotency key."""
    context = context_of(request)
    await _own_run(request, caller, run_id)
    step_run_id = await resume_run(context.store, run_id, clock=context.clock)
    context.new_work()
    run = await context.store.run_reading.run_summary(run_id)
    return ResumedOut(run=RunSummaryOut(**_summary_fields(run)), step_run_id=step_run_id)


@router.post("/{run_id}/cancel", summary="Cancel a run")
async def cancel(run_id: RunIdPath, caller: CallerDep, request: Request) -> RunSummaryOut:
    """Stop a pending or running run: nothing more is sent; a result in flight is dropped."""
    context = context_of(request)
    await _own_run(request, caller, run_id)
    await context.store.cancel(run_id)  # stamped with the database's time
    return RunSummaryOut(**_summary_fields(await context.store.run_reading.run_summary(run_id)))
