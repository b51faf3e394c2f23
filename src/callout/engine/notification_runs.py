"""The run that tells one notification endpoint of one run event: one Make HTTPS Request step.

The run's trigger is the event as JSON (`event_payload`); its document is an
ordinary workflow document, validated like any other when the run executes:
one `notify` step that POSTs to the endpoint's URL, signed with the endpoint's
secret (`secret: "{{ secrets.<name> }}"`, the same `Persona-Signature` every
step sends), retried on `RETRY_INTERVALS` with a `TIMEOUT` per attempt.

Everything the event says reaches the body through `{{ trigger... }}`
references, never as literal text in the document: a workflow name or an error
message holding `{{` stays data. A `callout` endpoint gets the trigger itself
(`body: "{{ trigger }}"`); a `slack` endpoint gets `{"text": ...}`, one line
written as a template that names only the fields this event has (a reference to
a missing one would fail the attempt). See docs/run-events.md.
"""

from __future__ import annotations

from typing import Any

from callout.model.ids import new_id
from callout.model.timestamps import iso_utc
from callout.store.protocol import NewRun
from callout.store.run_events import (
    SYSTEM_WORKFLOW_NAME,
    Endpoint,
    EndpointFormat,
    EventType,
    RunEvent,
)

NOTIFY_STEP = "notify"
"""The id of the notification run's one step."""

RETRY_INTERVALS = (10, 60, 300, 1800, 7200)
"""Seconds before each retry of a notification: six attempts over about 2.6 hours."""

TIMEOUT = 10
"""Seconds per attempt of a notification."""

EVENT_HEADER = "Callout-Event"
"""The header naming the event's type, so a receiver can route before parsing the body."""


def event_payload(event: RunEvent) -> dict[str, Any]:
    """Return the event as JSON: a `callout` endpoint's body, and every notification's trigger.

    Every key is always there (null when the event has no such thing), so a
    receiver reads one shape for every type.
    """
    run = None
    if event.run_id is not None:
        run = {
            "id": event.run_id,
            "workflow_id": event.workflow_id,
            "workflow_name": event.workflow_name,
        }
    return {
        "id": event.id,
        "type": event.type.value,
        "created_at": iso_utc(event.created_at),
        "organization_id": event.org_id,
        "run": run,
        "step_id": event.step_id,
        "error": event.error,
        "host": event.host,
        "detail": event.detail,
    }


def _is_scalar(value: Any) -> bool:
    """Say whether a value can be written inside text (a template places no object there)."""
    return value is not None and isinstance(value, str | int | float | bool)


def _cause(event: RunEvent) -> str:
    """`: http_status 503`, `: timeout (no answer within 10 s)`, or nothing: what went wrong."""
    error = event.error or {}
    kind, status, message = error.get("type"), error.get("status"), error.get("message")
    if _is_scalar(kind):
        if _is_scalar(status):
            return ": {{ trigger.error.type }} {{ trigger.error.status }}"
        if _is_scalar(message):
            return ": {{ trigger.error.type }} ({{ trigger.error.message }})"
        return ": {{ trigger.error.type }}"
    if _is_scalar(message):
        return ": {{ trigger.error.message }}"
    return ""


def _subject(event: RunEvent) -> str:
    """`Run wfr_1 of workflow "Charge the order"`, as far as the event knows it."""
    if event.run_id is None:
        return "A run"
    named = ' of workflow "{{ trigger.run.workflow_name }}"' if event.workflow_name else ""
    return "Run {{ trigger.run.id }}" + named


def slack_text(event: RunEvent) -> str:
    """Return the one readable line a Slack endpoint gets, as a template over the event."""
    at_step = " at step {{ trigger.step_id }}" if event.step_id else ""
    if event.type is EventType.RUN_COMPLETED:
        return _subject(event) + " completed"
    if event.type is EventType.RUN_FAILED:
        return _subject(event) + " failed" + at_step + _cause(event)
    if event.type is EventType.STEP_ERRORED:
        step = " {{ trigger.step_id }}" if event.step_id else ""
        return _subject(event) + ": step" + step + " errored" + _cause(event)
    host = "{{ trigger.host }}" if event.host else "a host"
    return "Deliveries to " + host + " are paused by the circuit breaker" + _pause(event)


def _pause(event: RunEvent) -> str:
    """` after 5 failed attempts in a row; next probe at ... (last error)`, as far as known."""
    detail = event.detail or {}
    said = ""
    if _is_scalar(detail.get("failures")):
        said += " after {{ trigger.detail.failures }} failed attempts in a row"
    if _is_scalar(detail.get("next_probe_at")):
        said += ("; next" if said else ": next") + " probe at {{ trigger.detail.next_probe_at }}"
    if _is_scalar(detail.get("last_error")):
        said += " (last error: {{ trigger.detail.last_error }})"
    return said or _cause(event)


def notification_document(event: RunEvent, endpoint: Endpoint) -> dict[str, Any]:
    """Return the workflow document of the run telling `endpoint` of `event`."""
    body: Any = "{{ trigger }}"
    if endpoint.body_format is EndpointFormat.SLACK:
        body = {"text": slack_text(event)}
    return {
        "name": SYSTEM_WORKFLOW_NAME,
        "description": f"Tells the notification endpoint {endpoint.id} of a run event.",
        "steps": [
            {
                "id": NOTIFY_STEP,
                "action": "make_https_request",
                "url": endpoint.url,
                "method": "POST",
                "headers": [{"key": EVENT_HEADER, "value": "{{ trigger.type }}"}],
                "body": body,
                "secret": f"{{{{ secrets.{endpoint.secret_name} }}}}",
                "retry_intervals": list(RETRY_INTERVALS),
                "timeout": TIMEOUT,
            }
        ],
    }


def notification_run(event: RunEvent, endpoint: Endpoint) -> NewRun:
    """Describe the run of the organization's system workflow that tells `endpoint` of `event`.

    A `NotificationRun` for `RunEventRecords.dispatch`, which stamps the run with
    the system workflow's id as it records it.
    """
    return NewRun(
        id=new_id("wfr"),
        workflow_name=SYSTEM_WORKFLOW_NAME,
        document=notification_document(event, endpoint),
        trigger=event_payload(event),
        step_ids=(NOTIFY_STEP,),
        step_run_ids=(new_id("stp"),),
        org_id=event.org_id,
        step_timeouts=(float(TIMEOUT),),
    )
