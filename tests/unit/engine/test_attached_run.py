"""A run executed attached, on the in-memory store, a test transport and a manual clock."""

from __future__ import annotations

import json
from typing import Any

from callout.engine.attached import run_attached
from callout.engine.executor import StepExecutor
from callout.engine.starting import start_run
from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.model.errors import AttemptTimeout, ConnectError
from callout.signing import verify
from callout.steps.validation import validate_workflow
from callout.store.memory import MemoryStore
from callout.store.protocol import StoredRun
from support.running import run_workflow, workflow_of

JSON = (("Content-Type", "application/json"),)


def step(step_id: str, **config: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "make_https_request", "url": "https://api.test/x", **config}


def answer(
    status: int, body: bytes = b"{}", headers: tuple[tuple[str, str], ...] = JSON
) -> InboundResponse:
    return InboundResponse(status=status, headers=headers, body=body)


async def run(
    document: dict[str, Any],
    handler: Any,
    *,
    trigger: Any = None,
    secrets: dict[str, str] | None = None,
) -> tuple[StoredRun, MockTransport, ManualClock]:
    transport = MockTransport(handler)
    clock = ManualClock()
    record = await run_workflow(
        document, transport=transport, trigger=trigger, secrets=secrets, clock=clock
    )
    return record, transport, clock


def header(request: OutboundRequest, name: str) -> str:
    return dict(request.headers)[name]


async def test_retries_follow_the_intervals_with_one_idempotency_key() -> None:
    replies = iter([answer(503), answer(503), answer(200)])
    record, transport, clock = await run(
        workflow_of(step("a", retry_intervals=[5, 60])), lambda _: next(replies)
    )
    assert record.status == "completed"
    assert clock.sleeps == [5.0, 60.0]
    assert len({header(r, "Idempotency-Key") for r in transport.requests}) == 1
    assert [header(r, "Callout-Attempt") for r in transport.requests] == ["1", "2", "3"]


async def test_retry_after_longer_than_the_interval_stretches_the_wait() -> None:
    replies = iter([answer(429, headers=(("Retry-After", "30"),)), answer(200)])
    _, _, clock = await run(workflow_of(step("a", retry_intervals=[1])), lambda _: next(replies))
    assert clock.sleeps == [30.0]


async def test_a_ten_minute_schedule_runs_without_waiting() -> None:
    record, transport, clock = await run(
        workflow_of(step("a", retry_intervals=[600, 600])), lambda _: answer(500)
    )
    assert record.status == "failed"
    assert len(transport.requests) == 3
    assert sum(clock.sleeps) == 1200


async def test_404_is_not_retried() -> None:
    record, transport, _ = await run(
        workflow_of(step("a", retry_intervals=[1, 1])), lambda _: answer(404)
    )
    assert len(transport.requests) == 1
    error = record.steps[0].error
    assert error is not None
    assert error["status"] == 404


async def test_connection_errors_and_timeouts_are_retried() -> None:
    failures: list[Exception] = [ConnectError("refused"), AttemptTimeout("no response within 1 s")]

    def handler(_: OutboundRequest) -> InboundResponse:
        if failures:
            raise failures.pop(0)
        return answer(200)

    record, _, _ = await run(workflow_of(step("a", retry_intervals=[1, 1])), handler)
    assert record.status == "completed"
    kinds = [a.error["type"] if a.error else None for a in record.steps[0].attempts]
    assert kinds == ["connection_error", "timeout", None]


async def test_failed_step_without_continue_fails_the_run_and_skips_the_rest() -> None:
    record, transport, _ = await run(workflow_of(step("a"), step("b")), lambda _: answer(500))
    assert record.status == "failed"
    assert [s.status for s in record.steps] == ["errored", "skipped"]
    assert len(transport.requests) == 1


async def test_continue_on_error_exposes_the_error_to_later_steps() -> None:
    document = workflow_of(
        step("a", continue_on_error=True),
        step(
            "b",
            body={
                "failed_with": "{{ steps.a.error.status }}",
                "why": "{{ steps.a.error.body.reason }}",
            },
        ),
    )
    replies = iter([answer(422, b'{"reason": "bad email"}'), answer(200)])
    record, transport, _ = await run(document, lambda _: next(replies))
    assert record.status == "completed"
    assert record.steps[0].status == "errored"
    assert transport.requests[1].body == b'{"failed_with":422,"why":"bad email"}'


async def test_typed_references_keep_their_json_type_in_the_body() -> None:
    document = workflow_of(
        step(
            "a",
            body={
                "score": "{{ trigger.score }}",
                "ok": "{{ trigger.ok }}",
                "none": "{{ trigger.n }}",
            },
        )
    )
    _, transport, _ = await run(
        document, lambda _: answer(200), trigger={"score": 0.97, "ok": True, "n": None}
    )
    assert transport.requests[0].body == b'{"score":0.97,"ok":true,"none":null}'


async def test_each_attempt_is_signed_with_a_fresh_timestamp() -> None:
    document = workflow_of(
        step("a", retry_intervals=[7], secret="{{ secrets.sig }}", body={"x": 1})
    )
    replies = iter([answer(503), answer(200)])
    _, transport, _ = await run(document, lambda _: next(replies), secrets={"sig": "s3cr3t"})
    stamps = [
        verify(header(r, "Persona-Signature"), r.body, "s3cr3t", tolerance=10**9)
        for r in transport.requests
    ]
    assert stamps[1] - stamps[0] == 7


async def test_unresolvable_reference_is_a_final_error_naming_it() -> None:
    document = workflow_of(step("a", retry_intervals=[1], body={"e": "{{ trigger.email }}"}))
    record, transport, _ = await run(document, lambda _: answer(200), trigger={"name": "x"})
    assert transport.requests == []
    error = record.steps[0].error
    assert error is not None
    assert error["type"] == "unresolved_reference"
    assert "trigger.email" in error["message"]


async def test_secrets_never_reach_the_record() -> None:
    document = workflow_of(
        step(
            "a",
            headers=[{"key": "X-Token", "value": "t {{ secrets.tok }}"}],
            body={"k": "{{ secrets.tok }}"},
            secret="{{ secrets.tok }}",
        )
    )
    record, transport, _ = await run(
        document, lambda r: answer(500, r.body), secrets={"tok": "s3cr3t-value"}
    )
    assert b"s3cr3t-value" in transport.requests[0].body
    assert "s3cr3t-value" not in json.dumps(record.steps[0].attempts[0].request)
    assert "s3cr3t-value" not in repr(record)


async def test_a_document_this_worker_refuses_errors_the_step_instead_of_looping() -> None:
    document = workflow_of(step("a", url="http://api.test/x", method="GET"))
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    workflow = validate_workflow(document, allow_http=True)  # recorded where http was allowed
    run_id = await start_run(store, workflow, {}, clock=clock)
    transport = MockTransport(lambda _: answer(200))
    executor = StepExecutor(store=store, transport=transport, clock=clock, allow_http=False)
    record = await run_attached(store, executor, run_id, clock=clock)
    assert record.status == "failed"
    error = record.steps[0].error
    assert error is not None
    assert error["type"] == "invalid_document"
    assert "must start with https://" in error["message"]
    assert transport.requests == []
