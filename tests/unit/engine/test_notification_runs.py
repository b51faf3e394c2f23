"""The notification run: a valid document whose body templates build from the event."""

from __future__ import annotations

from typing import Any

import pytest

from callout.engine.notification_runs import (
    EVENT_HEADER,
    NOTIFY_STEP,
    RETRY_INTERVALS,
    TIMEOUT,
    event_payload,
    notification_run,
)
from callout.steps.validation import validate_workflow
from callout.store.run_events import (
    SYSTEM_WORKFLOW_NAME,
    Endpoint,
    EndpointFormat,
    EventType,
    RunEvent,
)
from callout.templates import Scope, resolve_value

T0 = 1_800_000_000.0

FAILED = RunEvent(
    id="evt_1",
    org_id="org_1",
    type=EventType.RUN_FAILED,
    created_at=T0,
    run_id="wfr_123",
    workflow_id="wfl_9",
    workflow_name="Charge the order",
    step_id="charge",
    error={"type": "http_status", "message": "the server answered 503", "status": 503},
)


def endpoint(body_format: EndpointFormat = EndpointFormat.CALLOUT) -> Endpoint:
    return Endpoint(
        id="ntf_1",
        org_id="org_1",
        name="ops",
        url="https://hooks.example.com/callout",
        events=tuple(EventType),
        body_format=body_format,
        enabled=True,
        secret_name="notify_ops_signing",
        created_at=T0,
        updated_at=T0,
    )


def sent_body(event: RunEvent, body_format: EndpointFormat) -> Any:
    """Validate the run's document as any document is, then resolve its body as an attempt does."""
    run = notification_run(event, endpoint(body_format))
    valid = validate_workflow(run.document, secrets=frozenset({"notify_ops_signing"}))
    assert [step.id for step in valid.steps] == [NOTIFY_STEP]
    scope = Scope(trigger=run.trigger, steps={}, secrets={}, run={"id": run.id})
    return resolve_value(run.document["steps"][0]["body"], scope)


def test_the_run_is_one_signed_post_to_the_endpoint_retried_on_the_notification_schedule() -> None:
    run = notification_run(FAILED, endpoint())
    valid = validate_workflow(run.document, secrets=frozenset({"notify_ops_signing"}))

    assert run.workflow_name == valid.name == SYSTEM_WORKFLOW_NAME
    assert (run.org_id, run.version_id) == ("org_1", None)
    assert run.step_ids == (NOTIFY_STEP,)
    assert run.step_timeouts == (TIMEOUT,) == (10,)
    [step] = valid.steps
    assert step.policy.retry_intervals == RETRY_INTERVALS == (10, 60, 300, 1800, 7200)
    assert step.policy.timeout == TIMEOUT
    assert not step.policy.continue_on_error
    assert valid.secret_names() == {"notify_ops_signing"}
    written = run.document["steps"][0]
    assert (written["method"], written["url"]) == ("POST", "https://hooks.example.com/callout")
    assert written["secret"] == "{{ secrets.notify_ops_signing }}"
    assert written["headers"] == [{"key": EVENT_HEADER, "value": "{{ trigger.type }}"}]


def test_the_trigger_is_the_event_as_json_and_a_callout_endpoint_gets_it_whole() -> None:
    expected = {
        "id": "evt_1",
        "type": "run.failed",
        "created_at": "2027-01-15T08:00:00.000Z",
        "organization_id": "org_1",
        "run": {"id": "wfr_123", "workflow_id": "wfl_9", "workflow_name": "Charge the order"},
        "step_id": "charge",
        "error": {"type": "http_status", "message": "the server answered 503", "status": 503},
        "host": None,
        "detail": None,
    }
    assert notification_run(FAILED, endpoint()).trigger == event_payload(FAILED) == expected
    assert sent_body(FAILED, EndpointFormat.CALLOUT) == expected


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (
            FAILED,
            'Run wfr_123 of workflow "Charge the order" failed at step charge: http_status 503',
        ),
        (
            RunEvent(
                "evt_2",
                "org_1",
                EventType.RUN_FAILED,
                T0,
                run_id="wfr_5",
                workflow_name="Sync",
                step_id="push",
                error={"type": "timeout", "message": "no answer within 10 s"},
            ),
            'Run wfr_5 of workflow "Sync" failed at step push: timeout (no answer within 10 s)',
        ),
        (
            RunEvent("evt_3", "org_1", EventType.RUN_COMPLETED, T0, run_id="wfr_7"),
            "Run wfr_7 completed",
        ),
        (
            RunEvent(
                "evt_4",
                "org_1",
                EventType.STEP_ERRORED,
                T0,
                run_id="wfr_8",
                workflow_name="Tag",
                step_id="tag",
                error={"type": "schema", "message": "missing id"},
            ),
            'Run wfr_8 of workflow "Tag": step tag errored: schema (missing id)',
        ),
        (
            RunEvent(
                "evt_5",
                "org_1",
                EventType.HOST_PAUSED,
                T0,
                host="api.example.com",
                detail={
                    "failures": 5,
                    "next_probe_at": "2027-01-15T08:00:30Z",
                    "last_error": "http_status 503",
                },
            ),
            (
                "Deliveries to api.example.com are paused by the circuit breaker after 5 failed"
                " attempts in a row; next probe at 2027-01-15T08:00:30Z"
                " (last error: http_status 503)"
            ),
        ),
        (
            RunEvent("evt_6", "org_1", EventType.HOST_PAUSED, T0, host="api.example.com"),
            "Deliveries to api.example.com are paused by the circuit breaker",
        ),
    ],
)
def test_a_slack_endpoint_gets_one_readable_line_built_from_the_event(
    event: RunEvent, line: str
) -> None:
    assert sent_body(event, EndpointFormat.SLACK) == {"text": line}


def test_braces_in_a_workflow_name_or_an_error_stay_text() -> None:
    odd = RunEvent(
        "evt_6",
        "org_1",
        EventType.RUN_FAILED,
        T0,
        run_id="wfr_9",
        workflow_name="Say {{ secrets.x }}",
        step_id="a",
        error={"type": "http_status", "message": "}} {{", "status": {"not": "scalar"}},
    )
    assert sent_body(odd, EndpointFormat.SLACK) == {
        "text": 'Run wfr_9 of workflow "Say {{ secrets.x }}" failed at step a: http_status (}} {{)'
    }
    assert sent_body(odd, EndpointFormat.CALLOUT)["run"]["workflow_name"] == "Say {{ secrets.x }}"


def test_each_run_has_its_own_ids() -> None:
    first, second = notification_run(FAILED, endpoint()), notification_run(FAILED, endpoint())
    assert first.id != second.id
    assert first.step_run_ids != second.step_run_ids
