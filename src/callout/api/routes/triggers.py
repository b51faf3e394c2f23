"""Triggers: start a workflow's live version, or every workflow listening to an event.

Both take an `Idempotency-Key`: a repeat of a call with the same key and body gets
the first answer back (header `Idempotent-Replayed: true`) and starts nothing;
the same key with a different body is refused (409). Every call is recorded,
refused ones too, with what it answered: `GET /v1/trigger-calls`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeGuard

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from callout.api.auth import CallerDep, bearer_key_caller
from callout.api.context import ApiContext, context_of
from callout.api.documents import check_size
from callout.api.errors import ERROR_RESPONSES, ApiError, ErrorBody, ErrorDetail, ErrorInfo
from callout.api.json_bodies import PARSED_BODY
from callout.api.pages import CursorQuery, LimitQuery, PageInfo, page_of
from callout.api.shortcuts import ShortcutRoute, shortcut
from callout.engine.triggering import Refusal, prepare_run
from callout.model.ids import new_id
from callout.model.json_output import sorted_json
from callout.model.timestamps import iso_utc
from callout.store.account_records import Caller
from callout.store.protocol import NewRun
from callout.store.workflow_records import RunTarget, TriggerCall

router = APIRouter(
    prefix="/v1", tags=["Triggers"], responses=ERROR_RESPONSES, route_class=ShortcutRoute
)

# The declared rules, and the same rules as the shortcuts check them.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]+")
WORKFLOW_ID = re.compile(r"wfl_[0-9A-Z]+")
EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=f"^{IDEMPOTENCY_KEY.pattern}$",
        description="Repeat a call with the same key to get its first answer, not a second run",
    ),
]
WorkflowIdPath = Annotated[str, Path(max_length=64, pattern=f"^{WORKFLOW_ID.pattern}$")]
EVENT_PATTERN = f"^{EVENT_NAME.pattern}$"


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
    "system_workflow": 409,
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
    # The same bytes as every fingerprint stored before: a call replayed compares them.
    return hashlib.sha256(sorted_json(parts)).hexdigest()


async def _prepared(  # noqa: PLR0913 - the trigger and what it is checked with
    context: ApiContext,
    caller: Caller,
    target: RunTarget,
    payload: Any,
    *,
    size: int,
    now: float,
) -> NewRun | Refusal:
    """Check the call and describe its run; on the loop only when that is cheap.

    A live version not yet compiled here, or a payload whose trigger-schema check
    could be dear, is CPU work sized by the tenant: it runs in a thread.
    """
    version = target.version
    valid = (
        context.workflows.cached(version.id, allow_http=context.allow_http)
        if version is not None
        else None
    )
    cheap = version is None or (
        valid is not None
        and (valid.trigger_schema is None or valid.trigger_schema.checks_inline(size))
    )
    if cheap:
        return _prepare(context, caller, target, payload, now)
    return await asyncio.to_thread(_prepare, context, caller, target, payload, now)


def _prepare(
    context: ApiContext, caller: Caller, target: RunTarget, payload: Any, now: float
) -> NewRun | Refusal:
    return prepare_run(
        target.workflow,
        target.version,
        payload,
        plan=caller.org.plan,
        workflows=context.workflows,
        allow_http=context.allow_http,
        now=now,
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


def _answer(call: TriggerCall) -> JSONResponse:
    """Answer a call exactly as it is recorded."""
    return JSONResponse(call.response, status_code=call.status_code)


@dataclass(frozen=True, slots=True)
class _PlainCall:
    """A trigger call's body and Idempotency-Key, as the endpoint's declared rules accept them."""

    body: dict[str, Any]
    key: str | None


def _plain_call(request: Request, *, fields: frozenset[str]) -> _PlainCall | None:
    """Return the call if FastAPI would take its body and key as they are; None if in doubt.

    The body: a JSON object (`application/json`, parsed once by `JsonBodies`) with no
    field but `fields`. The key: absent, or one header the declared rule accepts.
    """
    kind = request.headers.get("content-type", "").lower()
    if kind != "application/json" and not kind.startswith("application/json;"):
        return None
    body = request.scope.get(PARSED_BODY)
    if type(body) is not dict or not body.keys() <= fields:
        return None
    keys = request.headers.getlist("idempotency-key")
    if not keys:
        return _PlainCall(body, None)
    if len(keys) == 1 and _matches(keys[0], IDEMPOTENCY_KEY, longest=255):
        return _PlainCall(body, keys[0])
    return None


def _matches(value: object, rule: re.Pattern[str], *, longest: int) -> TypeGuard[str]:
    """Say whether `value` is a string of at most `longest` characters wholly matching `rule`."""
    return type(value) is str and len(value) <= longest and rule.fullmatch(value) is not None


def _accepted(started: BaseModel | JSONResponse) -> Response:
    """Answer as FastAPI does: a model as JSON with 202, a response as it is."""
    if isinstance(started, JSONResponse):
        return started
    # The same JSON as FastAPI's rendering of the model, written by pydantic's own serializer.
    return Response(
        started.model_dump_json().encode(), status_code=202, media_type="application/json"
    )


async def _trigger_shortcut(request: Request) -> Response | None:
    """`trigger` for a call its declared rules accept and an API key answers; else None."""
    call = _plain_call(request, fields=frozenset({"payload"}))
    workflow_id = request.path_params.get("workflow_id")
    if call is None or not _matches(workflow_id, WORKFLOW_ID, longest=64):
        return None
    caller = await bearer_key_caller(request)
    if caller is None:
        return None
    started = await start_workflow_run(
        context_of(request), caller, workflow_id, call.body.get("payload"), call.key
    )
    return _accepted(started)


@router.post(
    "/workflows/{workflow_id}/trigger",
    status_code=202,
    response_model=TriggerOut,
    summary="Start a run of the live version",
    responses={202: {"description": "The run is recorded and will be executed"}},
)
@shortcut(_trigger_shortcut)
async def trigger(
    workflow_id: WorkflowIdPath,
    body: TriggerIn,
    caller: CallerDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> TriggerOut | JSONResponse:
    """Start a run of the workflow's live version; answered once the run is durable.

    A refusal (archived, not published, plan, payload) is recorded too, with the very
    status and body it is answered with.
    """
    return await start_workflow_run(
        context_of(request), caller, workflow_id, body.payload, idempotency_key
    )


async def start_workflow_run(
    context: ApiContext,
    caller: Caller,
    workflow_id: str,
    payload: Any,
    idempotency_key: str | None,
) -> TriggerOut | JSONResponse:
    """Start a run of the workflow's live version, or record and answer the refusal."""
    size = check_size(payload, "body.payload")
    fingerprint = _fingerprint("workflow", workflow_id, payload)
    # The target is read at most once a second (target_cache.py); the key is checked
    # by the write, so an accepted trigger costs one database round trip.
    target = await context.targets.workflow(org_id=caller.org.id, workflow_id=workflow_id)
    now = context.clock.now()
    prepared = await _prepared(context, caller, target, payload, size=size, now=now)
    call_id = new_id("trg", now=now)
    if isinstance(prepared, Refusal):
        if idempotency_key is not None:
            # Refused now, but a call with this key may have started a run before.
            earlier = await context.store.workflows.trigger_target(
                org_id=caller.org.id, workflow_id=workflow_id, idempotency_key=idempotency_key
            )
            if isinstance(earlier, TriggerCall):
                return _replayed(earlier, fingerprint)
        refused = ErrorBody(error=_error_of(prepared))
        call = TriggerCall(
            id=call_id,
            org_id=caller.org.id,
            workflow_id=workflow_id,
            event=None,
            # Recorded without its key: a refused call may be retried with the same key.
            idempotency_key=None,
            fingerprint=fingerprint,
            status_code=REFUSAL_STATUS[prepared.code],
            response=refused.model_dump(),
            created_at=now,
        )
        await context.store.workflows.start_runs(call, [])
        return _answer(call)
    out = TriggerOut(
        trigger_call_id=call_id,
        run_id=prepared.id,
        workflow_id=workflow_id,
        version_id=prepared.version_id or "",
    )
    call = TriggerCall(
        id=call_id,
        org_id=caller.org.id,
        workflow_id=workflow_id,
        event=None,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        status_code=202,
        response=out.model_dump(),
        created_at=now,
    )
    outcome = await context.store.workflows.start_runs(call, [prepared])
    if outcome.replayed:  # a call with this key was recorded since it was looked up
        return _replayed(outcome.call, fingerprint)
    context.new_work()
    return out


async def _event_shortcut(request: Request) -> Response | None:
    """`send_event` for a call its declared rules accept and an API key answers; else None."""
    call = _plain_call(request, fields=frozenset({"name", "payload"}))
    if call is None:
        return None
    name = call.body.get("name")
    if not _matches(name, EVENT_NAME, longest=200):
        return None
    caller = await bearer_key_caller(request)
    if caller is None:
        return None
    started = await start_event_runs(
        context_of(request), caller, name, call.body.get("payload"), call.key
    )
    return _accepted(started)


@router.post(
    "/events",
    status_code=202,
    response_model=EventOut,
    summary="Send an event",
    responses={202: {"description": "Runs started; workflows that refused are listed"}},
)
@shortcut(_event_shortcut)
async def send_event(
    body: EventIn,
    caller: CallerDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> EventOut | JSONResponse:
    """Start the live version of every published workflow listening to the event.

    An event no workflow listens to starts nothing and is not an error.
    """
    return await start_event_runs(
        context_of(request), caller, body.name, body.payload, idempotency_key
    )


async def start_event_runs(
    context: ApiContext,
    caller: Caller,
    name: str,
    payload: Any,
    idempotency_key: str | None,
) -> EventOut | JSONResponse:
    """Start every published workflow listening to `name`; answer what started and what refused."""
    size = check_size(payload, "body.payload")
    fingerprint = _fingerprint("event", name, payload)
    targets = await context.targets.event(org_id=caller.org.id, event=name)
    now = context.clock.now()
    runs: list[NewRun] = []
    started: list[StartedRun] = []
    refused: list[RefusedWorkflow] = []
    for target in targets:
        prepared = await _prepared(context, caller, target, payload, size=size, now=now)
        workflow_id = target.workflow.id
        if isinstance(prepared, Refusal):
            refused.append(RefusedWorkflow(workflow_id=workflow_id, error=_error_of(prepared)))
        else:
            runs.append(prepared)
            started.append(
                StartedRun(
                    run_id=prepared.id,
                    workflow_id=workflow_id,
                    version_id=prepared.version_id or "",
                )
            )
    if refused and not started and idempotency_key is not None:
        # Every listener refused now, but a call with this key may have started runs before.
        earlier = await context.store.workflows.event_targets(
            org_id=caller.org.id, event=name, idempotency_key=idempotency_key
        )
        if isinstance(earlier, TriggerCall):
            return _replayed(earlier, fingerprint)
    call_id = new_id("trg", now=now)
    out = EventOut(trigger_call_id=call_id, event=name, runs=started, refused=refused)
    call = TriggerCall(
        id=call_id,
        org_id=caller.org.id,
        workflow_id=None,
        event=name,
        # A call where every listener refused may be retried with the same key.
        idempotency_key=idempotency_key if started or not refused else None,
        fingerprint=fingerprint,
        status_code=202,
        response=out.model_dump(),
        created_at=now,
    )
    outcome = await context.store.workflows.start_runs(call, runs)
    if outcome.replayed:  # a call with this key was recorded since it was looked up
        return _replayed(outcome.call, fingerprint)
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
    found = await context_of(request).store.workflows.list_calls(
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
