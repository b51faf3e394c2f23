"""Delivery control's records: limits, in-flight slots, rate turns, expiry (contract tests).

Each test runs on SQLite, PostgreSQL and in memory (`service_store`), whose clock,
the database's, is `db_clock` at T0. The breaker's part: test_host_breaker_records.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from callout.model.clock import ManualClock
from callout.store.delivery import ANY_HOST, HostLimit
from callout.store.organizations import Organization
from callout.store.protocol import NotFoundError
from callout.store.service import ServiceStore
from integration.service_store.delivery_seeds import (
    HOST,
    claimed,
    ended,
    in_flight,
    outcome,
    ticket,
)
from integration.service_store.seeds import T0, set_time


async def test_limit_rows_are_set_listed_by_host_replaced_and_deleted(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization, bravo: Organization
) -> None:
    records = service_store.delivery
    set_time(db_clock, T0 + 5)
    stored = await records.set_host_limit(
        HostLimit(org_id=acme.id, host=HOST, max_in_flight=5, rate_per_second=2.5, burst=3)
    )
    assert stored.updated_at == T0 + 5  # stamped by the store's clock
    await records.set_host_limit(HostLimit(org_id=acme.id, host=ANY_HOST, breaker_failures=0))
    set_time(db_clock, T0 + 9)
    await records.set_host_limit(HostLimit(org_id=acme.id, host=HOST, max_in_flight=7))
    listed = await records.host_limits(org_id=acme.id)
    assert [(row.host, row.max_in_flight, row.rate_per_second) for row in listed] == [
        (ANY_HOST, None, None),
        (HOST, 7, None),  # replaced whole
    ]
    assert listed[1].updated_at == T0 + 9
    assert await records.host_limits(org_id=bravo.id) == []
    await records.delete_host_limit(org_id=acme.id, host=HOST)
    with pytest.raises(NotFoundError):
        await records.delete_host_limit(org_id=acme.id, host=HOST)
    with pytest.raises(NotFoundError):
        await records.set_host_limit(HostLimit(org_id="org_missing", host=HOST, max_in_flight=1))
    assert [row.host for row in await records.host_limits(org_id=acme.id)] == [ANY_HOST]


async def test_attempts_take_slots_up_to_the_limit_and_the_next_waits_briefly(
    service_store: ServiceStore, acme: Organization
) -> None:
    records = service_store.delivery
    limit = in_flight(acme.id, 2)
    first, second = [await records.admit(ticket(acme.id, limit=limit)) for _ in range(2)]
    assert (first.admitted, first.slot, first.probe) == (True, True, False)
    assert second.slot
    held = await records.admit(ticket(acme.id, limit=limit))
    assert held.deferral is not None
    assert not held.slot
    assert held.deferral.host == HOST
    assert held.deferral.kind == "in_flight"
    assert held.deferral.reason == f"waiting for a slot: at most 2 requests in flight to {HOST}"
    assert 0.025 <= held.deferral.delay <= 0.05  # the first back-off, jittered
    [state] = await records.host_states(org_id=acme.id)
    assert (state.host, state.in_flight, state.waiting) == (HOST, 2, 0)


async def test_an_attempt_asking_again_keeps_its_slot_and_takes_no_second(
    service_store: ServiceStore, acme: Organization
) -> None:
    records = service_store.delivery
    asking = ticket(acme.id, limit=in_flight(acme.id, 1))
    assert (await records.admit(asking)).slot
    again = await records.admit(asking)
    assert (again.admitted, again.slot) == (True, True)
    [state] = await records.host_states(org_id=acme.id)
    assert state.in_flight == 1


async def test_a_result_gives_its_slot_back_for_the_next_attempt(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    limit = in_flight(acme.id, 1)
    claim = await claimed(service_store, db_clock, acme.id)
    mine = ticket(acme.id, limit=limit, attempt_id=claim.attempt_id, step_run_id=claim.step_run_id)
    assert (await records.admit(mine)).slot
    assert not (await records.admit(ticket(acme.id, limit=limit))).admitted
    set_time(db_clock, T0 + 1)
    host = outcome(acme.id, failed=False, slot=True)
    await service_store.finish_attempt(claim, ended(claim, host, failed=False))
    assert (await records.admit(ticket(acme.id, limit=limit))).slot
    assert await records.troubled_hosts(org_id=acme.id) == {}  # a success counts nothing


async def test_a_slot_given_back_goes_to_the_waiter_due_soonest_at_once(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    limit = in_flight(acme.id, 1)
    holder = await claimed(service_store, db_clock, acme.id)
    asked = ticket(acme.id, limit=limit, attempt_id=holder.attempt_id)
    assert (await records.admit(asked)).slot
    waiters = []
    for delay in (3.0, 2.0, 4.0):  # backed off by different amounts: the 2 s one is next
        claim = await claimed(service_store, db_clock, acme.id)
        held = (await records.admit(ticket(acme.id, limit=limit))).deferral
        assert held is not None
        await service_store.defer(claim, replace(held, delay=delay))
        waiters.append(claim)
    set_time(db_clock, T0 + 1)
    host = outcome(acme.id, failed=False, slot=True)
    await service_store.finish_attempt(holder, ended(holder, host, failed=False))
    due = await service_store.claim_due(lease_seconds=30, limit=10)
    assert [claim.run_id for claim in due] == [waiters[1].run_id]  # only one: one slot came free


async def test_a_step_run_held_back_again_and_again_waits_longer_each_time(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    limit = in_flight(acme.id, 1)
    assert (await records.admit(ticket(acme.id, limit=limit))).slot  # the limit is reached
    claim = await claimed(service_store, db_clock, acme.id)
    delays = []
    for _ in range(4):
        asked = ticket(
            acme.id, limit=limit, attempt_id=claim.attempt_id, step_run_id=claim.step_run_id
        )
        held = (await records.admit(asked)).deferral
        assert held is not None
        delays.append(held.delay)
        await service_store.defer(claim, held)
        set_time(db_clock, db_clock.now() + held.delay)
        [claim] = await service_store.claim_due(lease_seconds=30, limit=1, run_id=claim.run_id)
    for count, delay in enumerate(delays):
        assert 0.05 * 2**count * 0.5 <= delay <= 0.05 * 2**count  # doubled, jittered
    [state] = await records.host_states(org_id=acme.id)
    assert state.in_flight == 1


async def test_waiters_for_the_rate_get_turns_spread_at_the_rate(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    limit = HostLimit(org_id=acme.id, host=HOST, rate_per_second=2)
    first = await records.admit(ticket(acme.id, limit=limit))
    assert (first.admitted, first.slot) == (True, False)  # a rate alone holds no slot
    turns = [(await records.admit(ticket(acme.id, limit=limit))).deferral for _ in range(3)]
    assert [turn.delay if turn else None for turn in turns] == [0.5, 1.0, 1.5]
    assert turns[0] is not None
    assert turns[0].kind == "rate"
    assert turns[0].reason == f"waiting for its turn: at most 2 requests a second to {HOST}"
    set_time(db_clock, T0 + 0.5)  # the first waiter's turn: a token has come back
    assert (await records.admit(ticket(acme.id, limit=limit))).admitted
    late = (await records.admit(ticket(acme.id, limit=limit))).deferral
    assert late is not None
    assert late.delay == 1.5  # after every turn handed out: T0 + 2.0


async def test_a_burst_goes_at_once_after_an_idle_spell(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    limit = HostLimit(org_id=acme.id, host=HOST, rate_per_second=4, burst=3)

    async def admitted() -> int:
        answers = [await records.admit(ticket(acme.id, limit=limit)) for _ in range(5)]
        return sum(answer.admitted for answer in answers)

    assert await admitted() == 3
    set_time(db_clock, T0 + 60)  # the bucket refills, up to the burst
    assert await admitted() == 3


async def test_nothing_is_taken_by_an_attempt_that_must_wait(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    limit = HostLimit(org_id=acme.id, host=HOST, max_in_flight=1, rate_per_second=1, burst=2)

    async def sent_and_released() -> None:
        claim = await claimed(service_store, db_clock, acme.id)
        mine = ticket(acme.id, limit=limit, attempt_id=claim.attempt_id)
        assert (await records.admit(mine)).slot
        for _ in range(3):  # held back by the full slot: no token, no slot taken
            assert not (await records.admit(ticket(acme.id, limit=limit))).admitted
        host = outcome(acme.id, failed=False, slot=True)
        await service_store.finish_attempt(claim, ended(claim, host, failed=False))

    await sent_and_released()  # token 1 of 2
    await sent_and_released()  # token 2 of 2: the waiters took none
    held = await records.admit(ticket(acme.id, limit=limit))  # no time passed: no token left
    assert held.deferral is not None
    assert (held.deferral.kind, held.deferral.delay) == ("rate", 1.0)
    [state] = await records.host_states(org_id=acme.id)
    assert state.in_flight == 0  # and the rate's deferral took no slot


async def test_an_expired_slot_no_longer_counts(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    limit = in_flight(acme.id, 1)
    assert (await records.admit(ticket(acme.id, limit=limit, hold_for=10))).slot
    set_time(db_clock, T0 + 9.5)
    assert not (await records.admit(ticket(acme.id, limit=limit))).admitted
    [state] = await records.host_states(org_id=acme.id)
    assert state.in_flight == 1
    set_time(db_clock, T0 + 10)  # its worker died: the slot is free again
    [state] = await records.host_states(org_id=acme.id)
    assert state.in_flight == 0
    assert (await records.admit(ticket(acme.id, limit=limit))).slot


async def test_hosts_are_told_apart_by_organization(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    records = service_store.delivery
    assert (await records.admit(ticket(acme.id, limit=in_flight(acme.id, 1)))).slot
    assert (await records.admit(ticket(bravo.id, limit=in_flight(bravo.id, 1)))).slot
    assert [state.in_flight for state in await records.host_states(org_id=acme.id)] == [1]
    assert [state.in_flight for state in await records.host_states(org_id=bravo.id)] == [1]
    assert await records.paused_hosts() == []


async def test_an_organization_that_does_not_exist_is_not_admitted_and_its_failures_not_counted(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    with pytest.raises(NotFoundError):
        await service_store.delivery.admit(ticket("org_missing"))
    claim = await claimed(service_store, db_clock, acme.id)
    host = outcome("org_missing", failed=True)
    await service_store.finish_attempt(claim, ended(claim, host, failed=True))  # recorded
    assert (await service_store.get_run(claim.run_id)).status == "failed"
    assert await service_store.delivery.host_states(org_id="org_missing") == []
