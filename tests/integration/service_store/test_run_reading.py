"""Reading a run: its summary, its view cut to size, one step run whole, its trigger.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`): the same
run reads back the same, cut at the same places (docs/limits.md, the run view).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from callout.model.records import Decision
from callout.store.account_records import Organization
from callout.store.protocol import FinishedAttempt, UnknownRunError
from callout.store.run_reading import (
    VIEW_ATTEMPTS,
    VIEW_MAX_CHARS,
    VIEW_MIN_CHARS,
    field_share,
)
from callout.store.service import ServiceStore
from integration.service_store.seeds import T0, service_run

BIG = VIEW_MAX_CHARS + 100
"""Characters that fit no field's share in a small run."""


def failed_attempt(number: int) -> dict[str, Any]:
    """The records of a failed attempt: small, except the body, message, URL and headers."""
    return {
        "error": {"type": "http_status", "message": f"m{number}" * BIG, "status": 500},
        "request": {
            "method": "POST",
            "url": "https://api.test/" + "u" * BIG,
            "headers": [["x-big", "h" * BIG]],
            "body": "q" * BIG,
        },
        "response": {
            "status": 500,
            "headers": [["content-type", "text/plain"]],
            "body": f"b{number}" * BIG,
            "body_truncated": False,
        },
    }


async def run_with_attempts(store: ServiceStore, org: Organization, attempts: int) -> str:
    """Start a run of one step, then fail `attempts` attempts of it (the last goes on)."""
    run = service_run(now=T0, org_id=org.id)
    await store.create_run(run)
    for number in range(1, attempts + 1):
        [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
        last = number == attempts
        records = failed_attempt(number)
        await store.finish_attempt(
            claim,
            FinishedAttempt(
                attempt_id=claim.attempt_id,
                succeeded=False,
                decision=Decision.ERRORED_CONTINUE if last else Decision.RETRY,
                http_status=500,
                output={"status": 500, "headers": {"a": "b"}, "body": {"small": True}}
                if last
                else None,
                **records,
            ),
        )
    return run.id


async def test_a_summary_has_no_steps_trigger_or_document(
    service_store: ServiceStore, acme: Organization
) -> None:
    run = service_run(now=T0, org_id=acme.id, workflow_id="wfl_1", version_id="wflv_1")
    await service_store.create_run(run)
    summary = await service_store.run_reading.run_summary(run.id)
    assert (summary.id, summary.org_id, summary.workflow_id, summary.version_id) == (
        run.id,
        acme.id,
        "wfl_1",
        "wflv_1",
    )
    assert (summary.status, summary.created_at, summary.finished_at) == ("pending", T0, None)
    assert (summary.steps, summary.trigger, summary.document) == ((), None, None)
    with pytest.raises(UnknownRunError):
        await service_store.run_reading.run_summary("wfr_unknown")


async def test_the_view_shows_the_latest_attempts_with_every_large_value_cut(
    service_store: ServiceStore, acme: Organization
) -> None:
    run_id = await run_with_attempts(service_store, acme, 7)
    view = await service_store.run_reading.run_view(run_id)
    [step] = view.run.steps
    assert view.attempts_total == {step.id: 7}
    assert view.field_chars == field_share(1, VIEW_ATTEMPTS) == VIEW_MAX_CHARS
    assert [a.number for a in step.attempts] == [3, 4, 5, 6, 7]
    assert (view.run.status, step.status) == ("completed", "errored")
    assert view.run.document is None
    cap = view.field_chars
    latest = step.attempts[-1]
    assert latest.response == {
        "status": 500,
        "headers": [["content-type", "text/plain"]],
        "body": ("b7" * BIG)[:cap],
        "body_truncated": True,
    }
    assert latest.request == {
        "method": "POST",
        "url": ("https://api.test/" + "u" * BIG)[:cap] + "…",
        "headers": [],
        "headers_truncated": True,
        "body": "q" * cap,
        "body_truncated": True,
    }
    assert latest.error == {
        "type": "http_status",
        "status": 500,
        "message": ("m7" * BIG)[:cap] + "…",
        "body": None,
    }
    assert step.output == {
        "status": 500,
        "headers": {"a": "b"},
        "body": {"small": True},
    }
    assert step.error is not None
    assert step.error["message"] == ("m7" * BIG)[:cap] + "…"


async def test_a_step_run_reads_back_whole(service_store: ServiceStore, acme: Organization) -> None:
    run_id = await run_with_attempts(service_store, acme, 7)
    view = await service_store.run_reading.run_view(run_id)
    step_run_id = view.run.steps[0].id
    whole = await service_store.run_reading.step_run(run_id, step_run_id)
    assert [a.number for a in whole.attempts] == list(range(1, 8))
    for attempt in whole.attempts:
        records = failed_attempt(attempt.number)
        assert attempt.request == records["request"]
        assert attempt.response == records["response"]
        assert attempt.error == records["error"] | {"body": None}
        assert attempt.status == "failed"
    with pytest.raises(UnknownRunError):
        await service_store.run_reading.step_run(run_id, "stp_unknown")
    other = service_run(now=T0, org_id=acme.id)
    await service_store.create_run(other)
    with pytest.raises(UnknownRunError):
        await service_store.run_reading.step_run(other.id, step_run_id)


async def test_a_large_trigger_is_cut_in_the_view_and_whole_on_its_own(
    service_store: ServiceStore, acme: Organization
) -> None:
    run = service_run(now=T0, org_id=acme.id)
    payload = {"id": "inq_1", "pad": "p" * BIG}
    await service_store.create_run(replace(run, trigger=payload))
    view = await service_store.run_reading.run_view(run.id)
    assert view.trigger_truncated
    # The start of its JSON text as stored: compact.
    assert view.run.trigger == json.dumps(payload, separators=(",", ":"))[:VIEW_MAX_CHARS]
    assert await service_store.run_reading.trigger(run.id) == payload
    small = service_run(now=T0, org_id=acme.id)
    await service_store.create_run(small)
    shown = await service_store.run_reading.run_view(small.id)
    assert (shown.run.trigger, shown.trigger_truncated) == ({"run": small.id}, False)
    assert [s.attempts for s in shown.run.steps] == [()]
    with pytest.raises(UnknownRunError):
        await service_store.run_reading.trigger("wfr_unknown")
    with pytest.raises(UnknownRunError):
        await service_store.run_reading.run_view("wfr_unknown")


async def test_a_tiny_key_too_large_for_its_place_is_left_out(
    service_store: ServiceStore, acme: Organization
) -> None:
    # A status or type is kept only while it is small (VIEW_MIN_CHARS): never a large value.
    run = service_run(now=T0, org_id=acme.id)
    await service_store.create_run(run)
    [claim] = await service_store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    await service_store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=False,
            decision=Decision.ERRORED_FAIL,
            error={"type": "t" * (VIEW_MIN_CHARS + 1), "message": "short"},
        ),
    )
    view = await service_store.run_reading.run_view(run.id)
    [attempt] = view.run.steps[0].attempts
    assert attempt.error == {"message": "short", "body": None}
    assert (attempt.request, attempt.response) == (None, None)
