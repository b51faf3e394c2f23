"""Notification endpoints: where an organization is told of failed runs, paused hosts and more.

Each endpoint receives the events it subscribes to as signed HTTPS requests:
runs of the organization's system workflow, retried like any step
(docs/run-events.md). Its signing secret is an organization secret, shown
once, when the endpoint is made.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.engine.notification_endpoints import (
    EVENTS,
    FORMATS,
    MAX_NAME_LENGTH,
    EndpointRequest,
    check_endpoint,
    create_endpoint,
    endpoint_view,
    remove_endpoint,
    update_endpoint,
)
from callout.store.run_events import EndpointChanges, EndpointFormat, EventType

router = APIRouter(
    prefix="/v1/notification-endpoints", tags=["Notification endpoints"], responses=ERROR_RESPONSES
)

EndpointIdPath = Annotated[str, Path(max_length=64, pattern=r"^ntf_[0-9A-Z]+$")]

API_NAMES = {name: f"body.{name}" for name in ("name", "url", "events", "format", "enabled")}
"""Where each field of an endpoint is in a request, for the paths of its problems."""

MAX_EVENTS = 20
"""The longest `events` list read (there are fewer event types; duplicates are refused)."""

# Described here, checked by `check_endpoint` (so every problem is reported at once).
_EVENTS_SCHEMA: JsonDict = {
    "items": {"type": "string", "enum": list(EVENTS)},
    "minItems": 1,
    "uniqueItems": True,
}
_FORMAT_SCHEMA: JsonDict = {"enum": list(FORMATS)}
_NAME_SCHEMA: JsonDict = {"minLength": 1, "maxLength": MAX_NAME_LENGTH}
_EXAMPLE: JsonDict = {
    "name": "Ops alerts",
    "url": "https://hooks.slack.com/services/T000/B000/XXXX",
    "events": ["run.failed", "host.paused"],
    "format": "slack",
}


class EndpointIn(BaseModel):
    """An endpoint to make."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})
    name: str = Field(
        description=f"1 to {MAX_NAME_LENGTH} characters, unique in the organization",
        json_schema_extra=_NAME_SCHEMA,
    )
    url: str = Field(
        description="Where the events go: https:// (http:// only where the operator allows "
        "plain HTTP), no credentials in it; the address guard applies as to any step"
    )
    events: list[str] = Field(
        max_length=MAX_EVENTS,
        description="Events to send: " + ", ".join(EVENTS),
        json_schema_extra=_EVENTS_SCHEMA,
    )
    format: str = Field(
        default=EndpointFormat.CALLOUT.value,
        description="`callout`: the event as JSON; `slack`: a Slack incoming-webhook body",
        json_schema_extra=_FORMAT_SCHEMA,
    )


class EndpointPatchIn(BaseModel):
    """What to change of an endpoint (a field left out, or null, stays)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"enabled": False}, {"events": ["run.failed"]}]},
    )
    name: str | None = Field(default=None, json_schema_extra=_NAME_SCHEMA)
    url: str | None = None
    events: list[str] | None = Field(
        default=None, max_length=MAX_EVENTS, json_schema_extra=_EVENTS_SCHEMA
    )
    format: str | None = Field(default=None, json_schema_extra=_FORMAT_SCHEMA)
    enabled: bool | None = Field(default=None, description="false: no events are sent to it")


class EndpointOut(BaseModel):
    """A notification endpoint (its signing secret's value is never shown again)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    url: str
    events: list[EventType]
    format: EndpointFormat
    enabled: bool
    secret_name: str = Field(
        description="The organization secret that signs its requests (rotate it like any secret)"
    )
    workflow_id: str = Field(description="The system workflow whose runs are the notifications")
    created_at: str
    updated_at: str


class NewEndpointOut(EndpointOut):
    """An endpoint just made: `signing_secret` is shown this once."""

    signing_secret: str = Field(
        description="Verify each request's Persona-Signature with it (docs/signing.md)"
    )


class EndpointList(BaseModel):
    """An organization's notification endpoints, by name."""

    model_config = ConfigDict(extra="forbid")
    endpoints: list[EndpointOut]


def _checked(wanted: EndpointRequest, *, allow_http: bool, creating: bool) -> EndpointChanges:
    changes, problems = check_endpoint(
        wanted, allow_http=allow_http, creating=creating, names=API_NAMES
    )
    if problems:
        raise ApiError(
            422, "invalid_request", f"the request has {len(problems)} problem(s)", problems
        )
    return changes


@router.get("", summary="List notification endpoints")
async def list_endpoints(caller: CallerDep, request: Request) -> EndpointList:
    """Return the organization's endpoints, by name."""
    records = context_of(request).store.run_events
    found = await records.list_endpoints(org_id=caller.org.id)
    if not found:
        return EndpointList(endpoints=[])
    workflow_id = await records.system_workflow_id(org_id=caller.org.id)
    return EndpointList(
        endpoints=[EndpointOut(**endpoint_view(e, workflow_id=workflow_id)) for e in found]
    )


@router.post("", status_code=201, summary="Make a notification endpoint")
async def create(body: EndpointIn, caller: CallerDep, request: Request) -> NewEndpointOut:
    """Make an endpoint and its signing secret; the response is the only time it is shown.

    Every problem is listed at once (422); a name already taken answers 409.
    """
    context = context_of(request)
    wanted = _checked(
        EndpointRequest(
            name=body.name, url=body.url, events=tuple(body.events), body_format=body.format
        ),
        allow_http=context.allow_http,
        creating=True,
    )
    made = await create_endpoint(
        context.store, context.cipher, org_id=caller.org.id, wanted=wanted, now=context.clock.now()
    )
    view = endpoint_view(made.endpoint, workflow_id=made.workflow_id)
    return NewEndpointOut(**view, signing_secret=made.signing_secret)


@router.get("/{endpoint_id}", summary="A notification endpoint")
async def get_one(endpoint_id: EndpointIdPath, caller: CallerDep, request: Request) -> EndpointOut:
    """Return one endpoint."""
    records = context_of(request).store.run_events
    endpoint = await records.get_endpoint(org_id=caller.org.id, endpoint_id=endpoint_id)
    workflow_id = await records.system_workflow_id(org_id=caller.org.id)
    return EndpointOut(**endpoint_view(endpoint, workflow_id=workflow_id))


@router.patch("/{endpoint_id}", summary="Change a notification endpoint")
async def patch(
    endpoint_id: EndpointIdPath, body: EndpointPatchIn, caller: CallerDep, request: Request
) -> EndpointOut:
    """Change an endpoint's name, URL, events, format, or turn it off and on.

    Every problem is listed at once (422); a name already taken answers 409.
    """
    context = context_of(request)
    changes = _checked(
        EndpointRequest(
            name=body.name,
            url=body.url,
            events=tuple(body.events) if body.events is not None else None,
            body_format=body.format,
            enabled=body.enabled,
        ),
        allow_http=context.allow_http,
        creating=False,
    )
    endpoint = await update_endpoint(
        context.store, org_id=caller.org.id, endpoint_id=endpoint_id, changes=changes
    )
    workflow_id = await context.store.run_events.system_workflow_id(org_id=caller.org.id)
    return EndpointOut(**endpoint_view(endpoint, workflow_id=workflow_id))


@router.delete("/{endpoint_id}", status_code=204, summary="Remove a notification endpoint")
async def delete(endpoint_id: EndpointIdPath, caller: CallerDep, request: Request) -> Response:
    """Remove an endpoint and its signing secret; the runs that told it stay."""
    await remove_endpoint(context_of(request).store, org_id=caller.org.id, endpoint_id=endpoint_id)
    return Response(status_code=204)
