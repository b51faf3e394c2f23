"""`StepExecutor.execute(claim)` on the in-memory store: error branches, and a retry's due time.

Claims come from `store.claim_due`, results are read with `store.get_run`: the
executor is driven only through its public entry point. The store's manual clock
plays the database's; the executor's own clock is an hour off, to show it decides
no time that is recorded.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from callout.engine.executor import MAX_INTERRUPTIONS, StepExecutor
from callout.engine.starting import new_run
from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.steps.validation import validate_workflow
from callout.store.account_records import SecretValues
from callout.store.encryption import SecretKeyError
from callout.store.memory import MemoryStore
from callout.store.outage import Backoff, StoreOutage
from callout.store.protocol import Claim
from support.delivery_setting import claim, only_step
from support.running import workflow_of
from support.store_outages import MemoryStoreWithOutages

DB_START = 1_800_000_000.0
LONG_AFTER = 24 * 3600.0
"""Seconds that outlast any lease: a worker that held one is taken for dead."""

JSON = (("Content-Type", "application/json"),)
QUICK = Backoff(first=0.001, cap=0.004)


def step(step_id: str = "a", **config: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "make_https_request", "url": "https://api.test/x", **config}


def answer(status: int, headers: tuple[tuple[str, str], ...] = JSON) -> InboundResponse:
    return InboundResponse(status=status, headers=headers, body=b'{"ok": true}')


def executor_for(store: MemoryStore, transport: MockTransport, **options: Any) -> StepExecutor:
    """An executor whose own clock is an hour behind the store's (the database's)."""
    return StepExecutor(
        store=store,
        transport=transport,
        clock=ManualClock(DB_START - 3600),
        outage=StoreOutage(QUICK),
        **options,
    )


async def recorded(
    store: MemoryStore,
    *steps: dict[str, Any],
    org_id: str | None = None,
    allow_http: bool = False,
) -> str:
    """Record a run of these steps (validated with `allow_http`); return its id."""
    workflow = validate_workflow(workflow_of(*steps), allow_http=allow_http)
    run = new_run(workflow, {}, now=DB_START, org_id=org_id)
    await store.create_run(run)
    return run.id


@pytest.fixture
def db() -> ManualClock:
    """The database's clock."""
    return ManualClock(DB_START)


@pytest.fixture
def store(db: ManualClock) -> MemoryStore:
    return MemoryStore(clock=db)


async def test_a_document_this_worker_refuses_is_a_final_invalid_document_error(
    store: MemoryStore,
) -> None:
    run_id = await recorded(store, step(url="http://api.test/x"), allow_http=True)
    transport = MockTransport(lambda _: answer(200))
    await executor_for(store, transport, allow_http=False).execute(await claim(store))
    run = await store.get_run(run_id)
    assert run.status == "failed"
    (errored,) = run.steps
    assert errored.status == "errored"
    assert errored.error is not None
    assert errored.error["type"] == "invalid_document"
    assert [(a.status, a.error and a.error["type"]) for a in errored.attempts] == [
        ("failed", "invalid_document")
    ]
    assert errored.due_at is None  # not a claim that comes back for ever
    assert transport.requests == []


async def test_a_step_whose_worker_died_too_often_errors_as_interrupted_unsent(
    store: MemoryStore, db: ManualClock
) -> None:
    run_id = await recorded(store, step(retry_intervals=[5]))
    for _ in range(MAX_INTERRUPTIONS):
        await claim(store)  # the worker dies mid-attempt: its lease runs out
        db.advance(LONG_AFTER)
    last = await claim(store)
    assert last.interruptions == MAX_INTERRUPTIONS
    transport = MockTransport(lambda _: answer(200))
    await executor_for(store, transport).execute(last)
    assert transport.requests == []
    run = await store.get_run(run_id)
    assert run.status == "failed"
    (errored,) = run.steps
    assert errored.error is not None
    assert errored.error["type"] == "interrupted"
    assert f"died {MAX_INTERRUPTIONS} times" in errored.error["message"]
    assert [a.status for a in errored.attempts] == ["interrupted"] * MAX_INTERRUPTIONS + ["failed"]


async def test_a_step_interrupted_fewer_times_is_sent_again_with_the_same_key(
    store: MemoryStore, db: ManualClock
) -> None:
    run_id = await recorded(store, step())
    for _ in range(MAX_INTERRUPTIONS - 1):
        await claim(store)
        db.advance(LONG_AFTER)
    transport = MockTransport(lambda _: answer(200))
    await executor_for(store, transport).execute(await claim(store))
    run = await store.get_run(run_id)
    assert run.status == "completed"
    (request,) = transport.requests
    assert dict(request.headers)["Idempotency-Key"] == run.steps[0].id
    assert dict(request.headers)["Callout-Attempt"] == str(MAX_INTERRUPTIONS)


class WrongKey:
    """Organization secrets read with a key that is not the one they were encrypted with."""

    async def values(self, org_id: str, *, now: float) -> SecretValues:
        raise SecretKeyError(f"the secrets of {org_id} were encrypted with another key")


@pytest.mark.parametrize("org_secrets", [None, WrongKey()], ids=["no key", "wrong key"])
async def test_an_organization_run_without_a_usable_secret_key_errors_as_secret_unavailable(
    store: MemoryStore, org_secrets: WrongKey | None
) -> None:
    run_id = await recorded(store, step(), org_id="org_1")
    transport = MockTransport(lambda _: answer(200))
    await executor_for(store, transport, org_secrets=org_secrets).execute(await claim(store))
    assert transport.requests == []  # nothing can be signed or resolved
    run = await store.get_run(run_id)
    assert run.status == "failed"
    error = run.steps[0].error
    assert error is not None
    assert error["type"] == "secret_unavailable"


async def test_a_result_whose_lease_was_taken_over_is_dropped(
    store: MemoryStore, db: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = await recorded(store, step())
    taken_over: list[Claim] = []

    async def stalled(_: OutboundRequest) -> InboundResponse:
        # This worker stalls past its lease; another one takes the step run over.
        db.advance(LONG_AFTER)
        taken_over.extend(await store.claim_due(lease_seconds=30, limit=1))
        return answer(200)

    transport = MockTransport(stalled)
    await executor_for(store, transport).execute(await claim(store))
    assert "taken over; result not recorded" in caplog.text
    (new_owner,) = taken_over
    stalled_step = await only_step(store, run_id)
    assert stalled_step.status == "running"
    assert stalled_step.output is None
    assert [a.status for a in stalled_step.attempts] == ["interrupted", "sending"]

    # The new owner's attempt is the one recorded.
    await executor_for(store, MockTransport(lambda _: answer(200))).execute(new_owner)
    run = await store.get_run(run_id)
    assert run.status == "completed"
    assert [a.status for a in run.steps[0].attempts] == ["interrupted", "succeeded"]


async def test_the_store_out_when_the_attempt_starts_is_waited_out_and_it_is_sent_once(
    db: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="callout")
    store = MemoryStoreWithOutages(clock=db)
    run_id = await recorded(store, step())
    claimed = await claim(store)
    store.fail["run_input"] = 3
    transport = MockTransport(lambda _: answer(200))
    await executor_for(store, transport).execute(claimed)
    assert store.calls["run_input"] == 4
    assert len(transport.requests) == 1
    assert (await store.get_run(run_id)).status == "completed"
    assert caplog.text.count("the database is unavailable") == 1  # once per outage
    assert caplog.text.count("the database is back") == 1


async def test_a_finished_attempt_is_kept_while_the_store_is_out_and_recorded_once(
    db: ManualClock,
) -> None:
    store = MemoryStoreWithOutages(clock=db)
    run_id = await recorded(store, step())
    claimed = await claim(store)
    store.fail["finish_attempt"] = 3
    transport = MockTransport(lambda _: answer(201))
    await executor_for(store, transport).execute(claimed)
    assert store.calls["finish_attempt"] == 4
    assert len(transport.requests) == 1  # kept, not sent again
    finished = await only_step(store, run_id)
    assert [(a.status, a.http_status) for a in finished.attempts] == [("succeeded", 201)]


async def test_a_retry_is_due_its_interval_after_the_attempt_ends_by_the_store_clock(
    store: MemoryStore, db: ManualClock
) -> None:
    run_id = await recorded(store, step(retry_intervals=[60]))
    replies = iter([answer(503), answer(200)])
    executor = executor_for(store, MockTransport(lambda _: next(replies)))
    await executor.execute(await claim(store))
    waiting = await only_step(store, run_id)
    assert waiting.status == "waiting"
    (failed,) = waiting.attempts
    assert failed.ended_at == db.now()
    assert failed.next_attempt_at == db.now() + 60
    assert waiting.due_at == db.now() + 60
    assert await store.seconds_until_due() == 60

    db.advance(59.9)
    assert await store.claim_due(lease_seconds=30, limit=1) == []
    db.advance(0.1)
    retry = await claim(store)
    assert (retry.attempts_made, retry.next_number) == (1, 2)
    await executor.execute(retry)
    assert (await store.get_run(run_id)).status == "completed"


async def test_retry_after_longer_than_the_interval_moves_the_due_time(
    store: MemoryStore, db: ManualClock
) -> None:
    run_id = await recorded(store, step(retry_intervals=[5]))
    busy = answer(429, headers=(*JSON, ("Retry-After", "120")))
    await executor_for(store, MockTransport(lambda _: busy)).execute(await claim(store))
    assert (await only_step(store, run_id)).due_at == db.now() + 120
