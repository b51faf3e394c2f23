"""A worker's reserve for limited hosts (engine/host_reserve.py), through its gates.

On the in-memory store (tests/support/delivery_setting.py): the records count the
round trips, the store's clock plays the database's, and the reserve's times are
the manual monotonic clock's. The store's side: test_reserve_records.py in
tests/integration/service_store.
"""

from __future__ import annotations

import asyncio

import pytest

from callout.engine.host_reserve import RESERVE_IDLE, RESERVE_LIFE, RESERVE_SPARES, TOKEN_LIFE
from callout.model.records import RecordedResponse, StepError
from callout.steps.attempt import AttemptResult
from callout.store.delivery import HostOutcome
from support.delivery_setting import Setting, setting

HOST = "api.test"
OK = AttemptResult(output={}, response=RecordedResponse(200, (), ""))
FAILED = AttemptResult(
    error=StepError("http_status", "bad", status=503), response=RecordedResponse(503, (), "")
)


@pytest.fixture
async def at() -> Setting:
    found = await setting()
    await found.limit(HOST, max_in_flight=100)
    return found


async def held(at: Setting) -> int:
    """Slots held to the host in the store (in flight or reserved)."""
    return sum(state.in_flight for state in await at.store.delivery.host_states(org_id=at.org_id))


async def sent(at: Setting, attempt: str, result: AttemptResult = OK) -> HostOutcome | None:
    """Admit an attempt, end it with `result` and record that as a result would; its outcome."""
    gate = at.gate(attempt)
    assert await gate.admit(HOST) is None
    outcome = gate.outcome(result)
    if outcome is not None:
        at.store.delivery.record_outcome(attempt, outcome, at.db.now())
    gate.recorded(outcome)
    return outcome


async def test_attempts_after_the_first_are_admitted_from_the_reserve_without_asking(
    at: Setting,
) -> None:
    gates = [at.gate(f"att_{number}") for number in range(RESERVE_SPARES + 1)]
    for gate in gates:
        assert await gate.admit(HOST) is None
    # One admission took the first attempt's slot and the spares of all the others.
    assert at.records.calls["admit"] == 1
    assert [gate.asked for gate in gates] == [True] + [False] * RESERVE_SPARES
    assert await held(at) == RESERVE_SPARES + 1
    # Their successes keep the slots in the reserve: nothing to record, nothing released.
    assert [gate.outcome(OK) for gate in gates] == [None] * len(gates)
    for gate in gates:
        gate.recorded(None)
    assert await held(at) == RESERVE_SPARES + 1
    # The next attempts use those slots again, still without asking.
    for number in range(5):
        assert await sent(at, f"att_again_{number}") is None
    assert at.records.calls["admit"] == 1


async def test_attempts_arriving_at_once_ask_once_for_all_of_them(at: Setting) -> None:
    gates = [at.gate(f"att_{number}") for number in range(3 * RESERVE_SPARES)]
    answers = await asyncio.gather(*(gate.admit(HOST) for gate in gates))
    assert answers == [None] * len(gates)
    # The first asked; the others waited for its answer, and for the refills asked
    # ahead as the reserve ran low, rather than each asking on its own. Each refill
    # asked for twice what the reserve had given out since the ask before: 12 of the
    # first 16 spares (then 4 were left), then 23 more.
    assert [(ticket.spares, ticket.reserve_only) for ticket in at.records.tickets] == [
        (RESERVE_SPARES, False),
        (2 * 12, True),
        (2 * 23, True),
    ]
    assert await held(at) == (1 + RESERVE_SPARES) + (1 + 24) + (1 + 46)  # each with its own


async def test_a_failure_gives_its_slot_back_through_its_result_and_counts(at: Setting) -> None:
    assert await sent(at, "att_first") is None  # fills the reserve
    outcome = await sent(at, "att_second", FAILED)  # from the reserve
    assert outcome is not None
    assert (outcome.failed, outcome.slot, outcome.reset) == (True, True, False)
    assert outcome.slot_id is not None
    assert outcome.slot_id != "att_second"  # a spare the first admission took
    assert await held(at) == RESERVE_SPARES  # released by the result


async def test_a_crowded_host_gives_each_slot_back_to_the_step_runs_waiting(at: Setting) -> None:
    await at.limit(HOST, max_in_flight=3)
    at.monotonic.now += 1.0  # the new limit is read
    first = at.gate("att_first")
    assert await first.admit(HOST) is None
    assert await held(at) == 3  # the spares stopped at the limit: the host is crowded
    outcome = first.outcome(OK)
    assert outcome is not None
    assert (outcome.failed, outcome.slot) == (False, True)  # released by the result


async def test_unused_slots_go_back_after_a_while_and_all_of_them_at_the_end(
    at: Setting,
) -> None:
    assert await sent(at, "att_first") is None
    assert await held(at) == RESERVE_SPARES + 1
    await at.control.give_back()
    assert await held(at) == RESERVE_SPARES + 1  # used a moment ago: kept
    at.monotonic.now += RESERVE_IDLE
    await at.control.give_back()
    assert await held(at) == 0
    assert at.records.calls["give_back"] == 1

    busy = at.gate("att_busy")
    assert await busy.admit(HOST) is None
    await at.control.give_back(everything=True)  # a worker stopping
    assert await held(at) == 1  # the attempt in flight keeps its slot until its result


async def test_the_reserve_task_gives_unused_slots_back_until_stopped(at: Setting) -> None:
    assert await sent(at, "att_first") is None
    at.monotonic.now += RESERVE_IDLE
    stop = asyncio.Event()
    keeping = asyncio.create_task(at.control.keep_reserves(stop, every=0.001))
    for _ in range(1000):
        if await held(at) == 0:
            break
        await asyncio.sleep(0.001)
    stop.set()
    await keeping
    assert await held(at) == 0


async def test_a_slot_without_a_whole_hold_left_is_not_used_again(at: Setting) -> None:
    assert await sent(at, "att_first") is None
    # 10 s timeout + 30 s margin per attempt: a reserved slot lives RESERVE_LIFE more.
    at.monotonic.now += RESERVE_LIFE - 1.0
    at.db.advance(RESERVE_LIFE - 1.0)
    assert await sent(at, "att_still") is None
    assert at.records.calls["admit"] == 1
    at.monotonic.now += 2.0
    at.db.advance(2.0)
    assert await sent(at, "att_stale") is None
    assert at.records.calls["admit"] == 2  # asked again, giving back what went stale
    assert at.records.tickets[1].returned != ()


async def test_a_lower_limit_sends_the_next_attempt_to_the_store(at: Setting) -> None:
    assert await sent(at, "att_first") is None
    await at.limit(HOST, max_in_flight=50)
    at.monotonic.now += 1.0  # read again
    assert await sent(at, "att_next") is None
    assert at.records.calls["admit"] == 2


async def test_rate_tokens_are_spent_soon_or_lost(at: Setting) -> None:
    await at.store.delivery.delete_host_limit(org_id=at.org_id, host=HOST)
    await at.limit(HOST, rate_per_second=1000, burst=1000)
    at.monotonic.now += 1.0
    assert await sent(at, "att_first") is None
    assert await held(at) == 0  # a rate alone holds no slot
    assert await sent(at, "att_token") is None
    assert at.records.calls["admit"] == 1
    at.monotonic.now += TOKEN_LIFE
    assert await sent(at, "att_late") is None
    assert at.records.calls["admit"] == 2


async def test_a_troubled_host_asks_for_each_attempt_and_its_reserve_goes_back(
    at: Setting,
) -> None:
    assert await sent(at, "att_first") is None
    assert await sent(at, "att_fails", FAILED) is not None
    # The failure made the worker read the host again: troubled now.
    troubled = at.gate("att_troubled")
    assert await troubled.admit(HOST) is None
    assert troubled.asked
    ticket = at.records.tickets[-1]
    assert ticket.spares == 0
    # The reserve's free slots are given back: the first attempt's own and its spares,
    # less the one the failure released.
    assert len(ticket.returned) == RESERVE_SPARES
    assert await held(at) == 1  # the troubled attempt's own slot alone


async def test_a_reserve_running_low_is_refilled_ahead_in_the_background(at: Setting) -> None:
    await at.limit(HOST, max_in_flight=100, rate_per_second=1000, burst=1000)
    at.monotonic.now += 1.0
    assert await sent(at, "att_first") is None  # 1 + 16: slots and tokens
    for number in range(RESERVE_SPARES - RESERVE_SPARES // 4):
        assert await sent(at, f"att_{number}") is None
    assert at.records.calls["admit"] == 1
    await asyncio.sleep(0)  # the refill ahead runs
    assert at.records.calls["admit"] == 2
    ahead = at.records.tickets[1]
    assert ahead.reserve_only
    assert ahead.spares == 2 * 12  # twice what the reserve gave out since the first ask
    # The slots were all free again (each attempt ended): tokens alone were asked for.
    assert ahead.limit is not None
    assert (ahead.limit.max_in_flight, ahead.limit.rate_per_second) == (None, 1000)
    assert await held(at) == RESERVE_SPARES + 1  # no slot taken beyond the reserve's
    for number in range(RESERVE_SPARES):
        assert await sent(at, f"att_more_{number}") is None
    assert at.records.calls["admit"] <= 3  # refilled ahead again at most: nobody waited
    assert [ticket.reserve_only for ticket in at.records.tickets[1:]] == [True] * (
        at.records.calls["admit"] - 1
    )


async def test_a_reserve_low_on_slots_takes_slots_ahead_and_the_refills_own_joins_it(
    at: Setting,
) -> None:
    gates = [at.gate(f"att_{number}") for number in range(RESERVE_SPARES)]
    for gate in gates:
        assert await gate.admit(HOST) is None  # all busy: the reserve is low on slots
    await asyncio.sleep(0)
    ahead = at.records.tickets[-1]
    assert ahead.reserve_only
    assert ahead.limit is not None
    assert ahead.limit.max_in_flight == 100
    assert await held(at) == RESERVE_SPARES + 1 + ahead.spares + 1
    # The refill's own slot and its spares are free for the next attempts.
    for number in range(ahead.spares + 1):
        assert await at.gate(f"att_next_{number}").admit(HOST) is None
    assert len([ticket for ticket in at.records.tickets if not ticket.reserve_only]) == 1


async def test_a_stopping_worker_waits_for_a_refill_under_way_then_gives_everything_back(
    at: Setting,
) -> None:
    gates = [at.gate(f"att_{number}") for number in range(RESERVE_SPARES)]
    for gate in gates:
        assert await gate.admit(HOST) is None
    # The refill ahead is under way (not yet run) when the worker stops.
    await at.control.give_back(everything=True)
    assert await held(at) == RESERVE_SPARES  # the attempts in flight keep theirs


async def test_tokens_half_way_through_their_life_are_refilled_ahead(at: Setting) -> None:
    await at.store.delivery.delete_host_limit(org_id=at.org_id, host=HOST)
    await at.limit(HOST, rate_per_second=1000, burst=1000)
    at.monotonic.now += 1.0
    assert await sent(at, "att_first") is None  # 16 tokens, for TOKEN_LIFE
    at.monotonic.now += TOKEN_LIFE * 0.6
    assert await sent(at, "att_ageing") is None  # from the reserve; it asks ahead
    await asyncio.sleep(0)
    assert [ticket.reserve_only for ticket in at.records.tickets] == [False, True]
    # Past the first tokens' life, the refill's keep the attempts going without a wait.
    at.monotonic.now += TOKEN_LIFE * 0.6
    assert await sent(at, "att_later") is None
    assert at.records.calls["admit"] == 2
