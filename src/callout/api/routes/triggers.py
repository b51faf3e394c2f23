"""Triggers: start a workflow's live version, or every workflow listening to an event.

Both take an `Idempotency-Key`: a repeat of a call with the same key and body gets
the first answer back (header `Idempotent-Replayed: true`) and starts nothing;
the same key with a different body is refused (409). Every call is recorded,
refused ones too, with what it answered: `GET /v1/trigger-calls`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
import sqlalchemy.exc
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from callout.api.auth import CallerDep
from callout.api.context import ApiContext, context_of
from callout.api.documents import check_size
from callout.api.errors import ERROR_RESPONSES, ApiError, ErrorBody, ErrorDetail, ErrorInfo
from callout.api.pages import CursorQuery, LimitQuery, PageInfo, page_of
from callout.engine.triggering import Refusal, prepare_run
from callout.model.ids import new_id
from callout.model.timestamps import iso_utc
from callout.store.organizations import Caller
from callout.store.protocol import NewRun
from callout.store.trigger_calls import TriggerCall, find_call, list_calls, start_runs_once
from callout.store.workflows import (
    VersionInfo,
    WorkflowInfo,
    live_target,
    subscribed_targets,
)

router = APIRouter(prefix="/v1", tags=["Triggers"], responses=ERROR_RESPONSES)

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a call with the same key to get its first answer, not a second run",
    ),
]
WorkflowIdPath = Annotated[str, Path(max_length=64, pattern=r"^wfl_[0-9A-Z]+$")]
EVENT_PATTERN = r"^[A-Za-z0-9_.:-]+$"


class TriggerIn(BaseModel):
    """The trigger payload, checked against the live version's trigger schema."""

    model_config = ConfigDict(extra="forbid")
    payload: Any = Field(default=None, description="Any JSON; `{{ trigger... }}` reads it")


class EventIn(BaseModel):
    """An event: every published workflow listening to `name` starts with `payload`."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=EVENT_PATTERN)
    payload: Any = None


class StartedRun(BaseModel):
    """A run a trigger started."""

    model_config = ConfigDict(extra="forbid")
    run_id: str
    workflow_id: str
    version_id: str


class TriggerOut(StartedRun):
    """A run started by a workflow trigger."""

    trigger_call_id: str
    status: str = "pending"


class RefusedWorkflow(BaseModel):
    """A workflow an event did not start, and why."""

    model_config = ConfigDict(extra="forbid")
    workflow_id: str
    error: ErrorInfo


class EventOut(BaseModel):
    """What an event started, and which listening workflows refused it."""

    model_config = ConfigDict(extra="forbid")
    trigger_call_id: str
    event: str
    runs: list[StartedRun]
    refused: list[RefusedWorkflow]


class TriggerCallOut(BaseModel):
    """A recorded trigger call and what it answered."""

    model_config = ConfigDict(extra="forbid")
    id: str
    workflow_id: str | None
    event: str | None
    idempotency_key: str | None
    status_code: int
    response: dict[str, Any]
    created_at: str


class TriggerCallPage(PageInfo):
    """A page of trigger calls, newest first."""

    data: list[TriggerCallOut]


REFUSAL_STATUS = {
    "workflow_archived": 409,
    "not_published": 409,
    "live_version_invalid": 409,
    "plan_lacks_action": 403,
    "invalid_payload": 422,
}
"""The HTTP status of each reason a workflow does not start."""


def _error_of(refusal: Refusal) -> ErrorInfo:
    return ErrorInfo(
        code=refusal.code,
        message=refusal.message,
        details=[ErrorDetail(path=p.path, message=p.message) for p in refusal.problems],
    )


def _fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _prepare(
    context: ApiContext,
    caller: Caller,
    target: tuple[WorkflowInfo, VersionInfo | None],
    payload: Any,
    now: float,
) -> NewRun | Refusal:
    workflow, version = target
    return prepare_run(
        workflow,
        version,
        payload,
        plan=caller.org.plan,
        workflows=context.workflows,
        allow_http=context.allow_http,
        now=now,
    )


def _earlier(conn: sa.Connection, org_id: str, key: str | None) -> TriggerCall | None:
    return find_call(conn, org_id=org_id, idempotency_key=key) if key is not None else None


def _workflow_call(
    conn: sa.Connection, *, org_id: str, workflow_id: str, key: str | None
) -> tuple[TriggerCall | None, WorkflowInfo | None, VersionInfo | None]:
    """Read what a trigger needs at once: an earlier call, or the workflow and version."""
    earlier = _earlier(conn, org_id, key)
    if earlier is not None:
        return earlier, None, None
    workflow, version = live_target(conn, org_id=org_id, workflow_id=workflow_id)
    return None, workflow, version


def _event_call(
    conn: sa.Connection, *, org_id: str, event: str, key: str | None
) -> tuple[TriggerCall | None, list[tuple[WorkflowInfo, VersionInfo]]]:
    """Read all an event needs in one transaction: an earlier call, or its listeners."""
    earlier = _earlier(conn, org_id, key)
    if earlier is not None:
        return earlier, []
    return None, subscribed_targets(conn, org_id=org_id, event=event)


@dataclass(frozen=True, slots=True)
class _Call:
    """What a trigger call asked for, as recorded."""

    org_id: str
    workflow_id: str | None
    event: str | None
    fingerprint: str
    call_id: str
    now: float


async def _record(  # noqa: PLR0913 - the call and its outcome
    context: ApiContext,
    call: _Call,
    *,
    runs: list[NewRun],
    idempotency_key: str | None,
    status_code: int,
    response: dict[str, Any],
) -> tuple[TriggerCall, bool]:
    """Start `runs` and record the call in one transaction; (call, replayed).

    Two calls racing with one key on PostgreSQL both find no earlier call; the unique
    index lets one commit, and the other answers as a replay of it.
    """
    try:
        return await _start(context, call, runs, idempotency_key, status_code, response)
    except sa.exc.IntegrityError:
        if idempotency_key is None:
            raise
        earlier = await context.store.read(
            find_call, org_id=call.org_id, idempotency_key=idempotency_key
        )
        if earlier is None:
            raise
        return earlier, True


async def _start(  # noqa: PLR0913, PLR0917
    context: ApiContext,
    call: _Call,
    runs: list[NewRun],
    idempotency_key: str | None,
    status_code: int,
    response: dict[str, Any],
) -> tuple[TriggerCall, bool]:
    return await context.store.write(
        start_runs_once,
        org_id=call.org_id,
        runs=runs,
        workflow_id=call.workflow_id,
        event=call.event,
        idempotency_key=idempotency_key,
        fingerprint=call.fingerprint,
        status_code=status_code,
        response=response,
        call_id=call.call_id,
        now=call.now,
    )


def _replayed(call: TriggerCall, fingerprint: str) -> JSONResponse:
    if call.fingerprint != fingerprint:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key",
        )
    return JSONResponse(
        call.response, status_code=call.status_code, headers={"Idempotent-Replayed": "true"}
    )


@router.post(
    "/workflows/{workflow_id}/trigger",
    status_code=202,
    response_model=TriggerOut,
    summary="Start a run of the live version",
    responses={202: {"description": "The run is recorded and will be executed"}},
)
async def trigger(
    workflow_id: WorkflowIdPath,
    body: TriggerIn,
    caller: CallerDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> TriggerOut | JSONResponse:
    """Start a run of the workflow's live version; answered once the run is durable."""
    context = context_of(request)
    check_size(body.payload, "body.payload")
    fingerprint = _fingerprint("workflow", workflow_id, body.payload)
    earlier, workflow, version = await context.store.read(
        _workflow_call, org_id=caller.org.id, workflow_id=workflow_id, key=idempotency_key
    )
    if earlier is not None:
        return _replayed(earlier, fingerprint)
    assert workflow is not None  # noqa: S101 - read together with no earlier call
    now = context.clock.now()
    # Off the loop: a live version not yet compiled here, and a payload checked against
    # its trigger schema, are CPU work sized by the tenant.
    prepared = await asyncio.to_thread(
        _prepare, context, caller, (workflow, version), body.payload, now
    )
    call = _Call(caller.org.id, workflow_id, None, fingerprint, new_id("trg", now=now), now)
    if isinstance(prepared, Refusal):
        status = REFUSAL_STATUS[prepared.code]
        # Recorded without its key: a refused call may be retried with the same key.
        await _record(
            context,
            call,
            runs=[],
            idempotency_key=None,
            status_code=status,
            response=ErrorBody(error=_error_of(prepared)).model_dump()
            | {"trigger_call_id": call.call_id},
        )
        raise ApiError(status, prepared.code, prepared.message, prepared.problems)
    out = TriggerOut(
        trigger_call_id=call.call_id,
        run_id=prepared.id,
        workflow_id=workflow_id,
        version_id=prepared.version_id or "",
    )
    recorded, replayed = await _record(
        context,
        call,
        runs=[prepared],
        idempotency_key=idempotency_key,
        status_code=202,
        response=out.model_dump(),
    )
    if replayed:
        return _replayed(recorded, fingerprint)
    context.new_work()
    return out


@router.post(
    "/events",
    status_code=202,
    response_model=EventOut,
    summary="Send an event",
    responses={202: {"description": "Runs started; workflows that refused are listed"}},
)
async def send_event(
    body: EventIn,
    caller: CallerDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> EventOut | JSONResponse:
    """Start the live version of every published workflow listening to the event.

    An event no workflow listens to starts nothing and is not an error.
    """
    context = context_of(request)
    check_size(body.payload, "body.payload")
    fingerprint = _fingerprint("event", body.name, body.payload)
    earlier, targets = await context.store.read(
        _event_call, org_id=caller.org.id, event=body.name, key=idempotency_key
    )
    if earlier is not None:
        return _replayed(earlier, fingerprint)
    now = context.clock.now()
    runs: list[NewRun] = []
    started: list[StartedRun] = []
    refused: list[RefusedWorkflow] = []
    for workflow, version in targets:
        prepared = await asyncio.to_thread(
            _prepare, context, caller, (workflow, version), body.payload, now
        )
        if isinstance(prepared, Refusal):
            refused.append(RefusedWorkflow(workflow_id=workflow.id, error=_error_of(prepared)))
        else:
            runs.append(prepared)
            started.append(
                StartedRun(
                    run_id=prepared.id,
                    workflow_id=workflow.id,
                    version_id=prepared.version_id or "",
                )
            )
    call = _Call(caller.org.id, None, body.name, fingerprint, new_id("trg", now=now), now)
    out = EventOut(trigger_call_id=call.call_id, event=body.name, runs=started, refused=refused)
    recorded, replayed = await _record(
        context,
        call,
        runs=runs,
        # A call where every listener refused may be retried with the same key.
        idempotency_key=idempotency_key if started or not refused else None,
        status_code=202,
        response=out.model_dump(),
    )
    if replayed:
        return _replayed(recorded, fingerprint)
    if runs:
        context.new_work()
    return out


@router.get("/trigger-calls", summary="Recorded trigger calls")
async def trigger_calls(
    caller: CallerDep,
    request: Request,
    workflow_id: Annotated[str | None, Query(max_length=64, pattern=r"^wfl_[0-9A-Z]+$")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> TriggerCallPage:
    """Return trigger and event calls, newest first, refused ones with their error."""
    found = await context_of(request).store.read(
        list_calls,
        org_id=caller.org.id,
        workflow_id=workflow_id,
        limit=limit + 1,
        before_id=cursor,
    )
    page, cursor = page_of(found, limit, lambda call: call.id)
    return TriggerCallPage(
        data=[
            TriggerCallOut(
                id=call.id,
                workflow_id=call.workflow_id,
                event=call.event,
                idempotency_key=call.idempotency_key,
                status_code=call.status_code,
                response=call.response,
                created_at=iso_utc(call.created_at),
            )
            for call in page
        ],
        next_cursor=cursor,
    )
