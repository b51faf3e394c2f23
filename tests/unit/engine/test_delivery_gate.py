"""Delivery control in the worker (engine/delivery_gate.py) on the in-memory store.

What the tests start from (a setting, counted records, a manual monotonic clock)
is in tests/support/delivery_setting.py. A worker's reserve for limited hosts:
test_host_reserve.py.
"""

from __future__ import annotations

import asyncio

import pytest

from callout.engine.delivery_gate import host_failure
from callout.engine.host_reserve import RESERVE_LIFE, RESERVE_SPARES
from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.errors import AttemptTimeout, ConnectError
from callout.model.records import RecordedResponse, StepError
from callout.steps.attempt import AttemptResult
from callout.store.delivery import BreakerState
from callout.store.run_events import EndpointFormat, EventType
from support.delivery_setting import (
    DB_START,
    Setting,
    answer,
    claim,
    only_step,
    recorded,
    setting,
)


@pytest.fixture
async def at() -> Setting:
    return await setting()


async def test_an_unlimited_untroubled_host_is_sent_to_without_asking_the_database(
    at: Setting,
) -> None:
    run_ids = await recorded(at, count=20)
    executor = at.executor(MockTransport(lambda _: answer(200)))
    for _ in run_ids:
        await executor.execute(await claim(at.store))
    assert [(await at.store.get_run(run_id)).status for run_id in run_ids] == ["completed"] * 20
    # One reading of the organization for all 20 (the cache's second has not passed),
    # no admission, and nothing recorded for the host.
    assert at.records.calls == {"host_limits": 1, "troubled_hosts": 1}
    assert await at.store.delivery.host_states(org_id=at.org_id) == []


async def test_a_full_in_flight_limit_defers_without_recording_an_attempt(at: Setting) -> None:
    await at.limit("api.test", max_in_flight=1)
    first, second = await recorded(at, count=2, retry_intervals=[5])
    release = asyncio.Event()

    async def held(_: OutboundRequest) -> InboundResponse:
        await release.wait()
        return answer(200)

    transport = MockTransport(held)
    executor = at.executor(transport)
    sending = asyncio.create_task(executor.execute(await claim(at.store)))
    while not transport.requests:
        await asyncio.sleep(0)
    await executor.execute(await claim(at.store))  # the second: no slot left

    waiting = await only_step(at.store, second)
    assert waiting.status == "pending"
    assert waiting.attempts == ()  # a deferral is not an attempt
    assert waiting.wait_reason is not None
    assert "at most 1 request in flight to api.test" in waiting.wait_reason
    assert waiting.due_at is not None
    assert waiting.due_at > DB_START
    assert (await at.store.get_run(second)).status == "pending"  # nothing sent yet
    assert len(transport.requests) == 1
    assert at.deferrals("in_flight") == 1
    assert at.deferrals("rate") == at.deferrals("breaker") == 0
    # The ticket names the host as the gate keys it (lower case, no port), and holds
    # the slot for the step's timeout (30 s by default) plus the worker's margin, plus
    # the time its worker's reserve may use it again; it asks for spares.
    ticket = at.records.tickets[0]
    assert (ticket.host, ticket.hold_for) == ("api.test", 60.0 + RESERVE_LIFE)
    assert ticket.spares == RESERVE_SPARES
    assert ticket.limit is not None
    assert (ticket.limit.host, ticket.limit.max_in_flight) == ("api.test", 1)

    release.set()
    await sending
    assert (await at.store.get_run(first)).status == "completed"
    at.db.advance(10)
    await executor.execute(await claim(at.store))
    done = await only_step(at.store, second)
    assert (done.status, done.wait_reason) == ("succeeded", None)
    assert [attempt.number for attempt in done.attempts] == [1]  # no retry was used
    for state in await at.store.delivery.host_states(org_id=at.org_id):
        assert state.in_flight == 0  # each result released its slot


async def test_the_breaker_opens_after_five_failures_and_a_probe_closes_it(at: Setting) -> None:
    await at.limit("api.test", breaker_pause=2.0)
    run_ids = await recorded(at, count=7, retry_intervals=[1, 1, 1])
    status = {"now": 503}
    transport = MockTransport(lambda _: answer(status["now"]))
    executor = at.executor(transport)
    for _ in range(5):
        await executor.execute(await claim(at.store))
    (state,) = (await at.store.delivery.troubled_hosts(org_id=at.org_id)).values()
    assert (state.breaker, state.consecutive_failures, state.last_error) == (
        BreakerState.OPEN,
        5,
        "http_status 503",
    )
    assert state.next_probe_at == DB_START + 2.0

    # Two more runs: neither is sent, neither uses an attempt; both wait for the probe.
    for _ in range(2):
        await executor.execute(await claim(at.store))
    assert len(transport.requests) == 5
    for run_id in run_ids[5:]:
        waiting = await only_step(at.store, run_id)
        assert (waiting.status, waiting.attempts) == ("pending", ())
        assert waiting.wait_reason is not None
        assert "api.test is paused" in waiting.wait_reason
    assert at.deferrals("breaker") == 2

    status["now"] = 200
    at.db.advance(2.0)
    await executor.execute(await claim(at.store))  # the probe
    assert len(transport.requests) == 6
    assert await at.store.delivery.troubled_hosts(org_id=at.org_id) == {}
    while claims := await at.store.claim_due(lease_seconds=30, limit=10):
        for claimed in claims:
            await executor.execute(claimed)
        at.db.advance(1.0)
    statuses = [(await at.store.get_run(run_id)).status for run_id in run_ids]
    assert statuses == ["completed"] * 7
    for run_id in run_ids:
        attempts = (await only_step(at.store, run_id)).attempts
        assert attempts[-1].status == "succeeded"
        assert len(attempts) <= 2  # one 503 at most: the breaker kept the rest unsent


async def test_a_second_request_of_one_attempt_is_admitted_without_asking_again(
    at: Setting,
) -> None:
    await at.limit("api.test", max_in_flight=1)
    gate = at.gate("att_1")
    assert await gate.admit("api.test") is None
    assert await gate.admit("api.test") is None  # a re-send after a 401
    assert at.records.calls["admit"] == 1
    (state,) = await at.store.delivery.host_states(org_id=at.org_id)
    assert state.in_flight == 1  # one slot, not two


@pytest.mark.parametrize(
    ("result", "failure"),
    [
        (AttemptResult(response=RecordedResponse(503, (), "")), "http_status 503"),
        (AttemptResult(response=RecordedResponse(500, (), "")), "http_status 500"),
        (AttemptResult(error=StepError(AttemptTimeout.kind, "slow")), "timeout"),
        (AttemptResult(error=StepError(ConnectError.kind, "refused")), "connection_error"),
        (AttemptResult(response=RecordedResponse(429, (), "")), None),
        (AttemptResult(response=RecordedResponse(404, (), "")), None),
        (
            AttemptResult(
                error=StepError("schema_mismatch", "no id"),
                response=RecordedResponse(200, (), "{}"),
            ),
            None,
        ),
        (AttemptResult(error=StepError("tls_error", "bad certificate")), None),
        (AttemptResult(error=StepError("address_refused", "private")), None),
        # The API answered 401, then the fresh token's fetch timed out: the API did not fail.
        (
            AttemptResult(
                error=StepError(AttemptTimeout.kind, "token endpoint slow"),
                response=RecordedResponse(401, (), ""),
            ),
            None,
        ),
    ],
    ids=[
        "503",
        "500",
        "timeout",
        "connection",
        "429",
        "404",
        "schema",
        "tls",
        "refused",
        "401-then-token-timeout",
    ],
)
def test_the_breaker_counts_5xx_timeouts_and_connection_errors_only(
    result: AttemptResult, failure: str | None
) -> None:
    assert host_failure(result) == failure


async def test_an_outcome_is_sent_only_when_there_is_something_to_record(at: Setting) -> None:
    ok = AttemptResult(output={}, response=RecordedResponse(200, (), ""))
    failed = AttemptResult(
        error=StepError("http_status", "bad", status=502),
        response=RecordedResponse(502, (), ""),
    )
    quiet = at.gate("att_1")
    assert quiet.outcome(failed) is None  # never asked: nothing was sent
    await quiet.admit("api.test")
    assert quiet.outcome(ok, announce=True) is None  # untroubled, unlimited: nothing
    outcome = quiet.outcome(failed, announce=True)
    assert outcome is not None
    assert (outcome.host, outcome.failed, outcome.error, outcome.announce) == (
        "api.test",
        True,
        "http_status 502",
        True,
    )
    assert (outcome.slot, outcome.probe, outcome.failures_to_open, outcome.first_pause) == (
        False,
        False,
        5,
        30.0,
    )

    await at.limit("api.test", max_in_flight=3, breaker_failures=2, breaker_pause=4)
    at.monotonic.now += 1.0  # the limit is seen once the cached reading is a second old
    held = at.gate("att_2")
    assert await held.admit("api.test") is None
    released = held.outcome(ok, announce=True)
    assert released is not None
    # The host was untroubled when the gate read it: its success gives the slot back only.
    assert (released.failed, released.slot, released.announce, released.reset) == (
        False,
        True,
        False,
        False,
    )
    assert (released.failures_to_open, released.first_pause) == (2, 4.0)


async def test_a_success_after_a_failure_here_resets_the_count_at_once(at: Setting) -> None:
    run_ids = await recorded(at, count=2)
    answers = iter([503, 200])
    executor = at.executor(MockTransport(lambda _: answer(next(answers))))
    for _ in run_ids:
        await executor.execute(await claim(at.store))
    # The failure made this process read the host again (troubled now), so the success
    # that followed within the second was recorded too: the count is back to 0.
    assert await at.store.delivery.troubled_hosts(org_id=at.org_id) == {}
    assert at.records.calls["host_limits"] == 2


async def test_a_limit_set_elsewhere_is_seen_within_a_second(at: Setting) -> None:
    assert await at.gate("att_1").admit("api.test") is None
    await at.limit("api.test", max_in_flight=1)
    at.monotonic.now += 0.9
    assert await at.gate("att_2").admit("api.test") is None  # the reading is 0.9 s old
    assert at.records.calls["admit"] == 0
    at.monotonic.now += 0.1
    assert await at.gate("att_3").admit("api.test") is None  # read again: a slot taken
    deferred = await at.gate("att_4").admit("api.test")
    assert at.records.calls["admit"] == 2
    assert deferred is not None
    assert deferred.kind == "in_flight"


async def test_the_any_host_row_limits_every_host_without_its_own(at: Setting) -> None:
    await at.limit("*", max_in_flight=1)
    await at.limit("own.test", burst=3)
    assert await at.gate("att_1").admit("own.test") is None  # its own row limits nothing
    assert at.records.calls["admit"] == 0
    assert await at.gate("att_2").admit("one.test") is None
    assert await at.gate("att_3").admit("two.test") is None  # each host on its own
    deferred = await at.gate("att_4").admit("one.test")
    assert at.records.calls["admit"] == 3
    assert deferred is not None
    assert deferred.host == "one.test"
    limit = at.records.tickets[0].limit
    assert limit is not None
    assert (limit.host, limit.max_in_flight) == ("*", 1)


async def test_a_run_of_no_organization_is_never_held_back(at: Setting) -> None:
    (run_id,) = await recorded(at, org=False)
    await at.executor(MockTransport(lambda _: answer(503))).execute(await claim(at.store))
    assert (await only_step(at.store, run_id)).status == "errored"
    assert at.records.calls == {}  # not even a reading


async def test_the_failure_that_opens_the_breaker_is_told_only_to_those_who_want_it(
    at: Setting,
) -> None:
    await at.store.run_events.create_endpoint(
        org_id=at.org_id,
        name="ops",
        url="https://hooks.example.com/callout",
        events=(EventType.HOST_PAUSED,),
        body_format=EndpointFormat.CALLOUT,
        secret_name="run_events_0123456789",
    )
    run_ids = await recorded(at, count=6)
    executor = at.executor(MockTransport(lambda _: answer(503)))
    for _ in run_ids:
        await executor.execute(await claim(at.store))
    # Five 503s open the breaker: one host.paused event. The runs failed too, but
    # nobody wants run.failed or step.errored, so neither was recorded.
    (paused,) = at.store.outbox
    assert (paused.type, paused.host) == (EventType.HOST_PAUSED, "api.test")
    assert paused.detail is not None
    assert paused.detail["failures"] == 5
    statuses = [(await at.store.get_run(run_id)).status for run_id in run_ids]
    assert statuses == ["failed"] * 5 + ["pending"]  # the sixth waits for the probe
