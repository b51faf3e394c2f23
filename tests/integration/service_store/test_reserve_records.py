"""Spare admissions for a worker's reserve, and slots given back (contract tests).

A ticket may ask for spares (`AdmitTicket.spares`) and give back its worker's free
slots (`AdmitTicket.returned`); `DeliveryRecords.give_back` releases slots alone.
Each test runs on SQLite, PostgreSQL and in memory (`service_store`), whose clock,
the database's, is `db_clock` at T0. The engine's side: tests/unit/engine/test_host_reserve.py.
"""

from __future__ import annotations

from dataclasses import replace

from callout.model.clock import ManualClock
from callout.store.delivery import HostLimit, spare_slot_id
from callout.store.organizations import Organization
from callout.store.protocol import Claim
from callout.store.service import ServiceStore
from integration.service_store.delivery_seeds import HOST, claimed, in_flight, sent, ticket


async def held(store: ServiceStore, org_id: str) -> int:
    """The slots held to `HOST` (in flight or reserved), as the dashboard shows them."""
    states = await store.delivery.host_states(org_id=org_id)
    return sum(state.in_flight for state in states if state.host == HOST)


async def reserved(store: ServiceStore, limit: HostLimit, spares: int) -> tuple[str, ...]:
    """Admit an attempt with `spares` spares (all granted); return the spare slots' ids."""
    asked = ticket(limit.org_id, limit=limit, spares=spares)
    assert (await store.delivery.admit(asked)).spares == spares
    return tuple(spare_slot_id(asked.attempt_id, number) for number in range(1, spares + 1))


async def waiter(
    store: ServiceStore, clock: ManualClock, limit: HostLimit, *, delay: float
) -> Claim:
    """A step run of a new run, held back by the full `limit`, due again in `delay` s."""
    claim = await claimed(store, clock, limit.org_id)
    deferral = (await store.delivery.admit(ticket(limit.org_id, limit=limit))).deferral
    assert deferral is not None
    await store.defer(claim, replace(deferral, delay=delay))
    return claim


async def test_spares_are_taken_with_an_admission_up_to_the_limit_and_then_crowded(
    service_store: ServiceStore, acme: Organization
) -> None:
    limit = in_flight(acme.id, 10)
    first = await service_store.delivery.admit(ticket(acme.id, limit=limit, spares=4))
    assert (first.slot, first.spares, first.crowded) == (True, 4, False)
    assert await held(service_store, acme.id) == 5
    second = await service_store.delivery.admit(ticket(acme.id, limit=limit, spares=8))
    assert (second.slot, second.spares, second.crowded) == (True, 4, True)  # 10 in all
    assert await held(service_store, acme.id) == 10
    third = await service_store.delivery.admit(ticket(acme.id, limit=limit, spares=8))
    assert third.deferral is not None
    assert (third.spares, third.crowded) == (0, True)
    assert await held(service_store, acme.id) == 10  # nothing was taken by the deferred


async def test_a_ticket_without_spares_is_answered_as_before(
    service_store: ServiceStore, acme: Organization
) -> None:
    limit = in_flight(acme.id, 1)
    answer = await service_store.delivery.admit(ticket(acme.id, limit=limit))
    assert (answer.slot, answer.spares, answer.crowded) == (True, 0, False)
    waiting = await service_store.delivery.admit(ticket(acme.id, limit=limit))
    assert waiting.deferral is not None
    assert not waiting.crowded  # only a reserve's ticket is told


async def test_spares_under_a_rate_take_tokens_only_and_never_a_turn(
    service_store: ServiceStore, acme: Organization
) -> None:
    limit = HostLimit(org_id=acme.id, host=HOST, rate_per_second=2, burst=3)
    answer = await service_store.delivery.admit(ticket(acme.id, limit=limit, spares=5))
    assert (answer.admitted, answer.slot, answer.spares, answer.crowded) == (True, False, 2, False)
    assert await held(service_store, acme.id) == 0  # a rate alone holds no slots
    # The bucket is empty; the refused spare handed out no turn: the next waiter's
    # turn is the first, half a second away at 2 a second.
    waiting = (await service_store.delivery.admit(ticket(acme.id, limit=limit))).deferral
    assert waiting is not None
    assert waiting.kind == "rate"
    assert abs(waiting.delay - 0.5) < 1e-6


async def test_a_troubled_host_gives_no_spares(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    await sent(service_store, db_clock, acme.id, failed=True)  # one failure counted
    answer = await service_store.delivery.admit(
        ticket(acme.id, limit=in_flight(acme.id, 10), spares=4)
    )
    assert (answer.slot, answer.spares) == (True, 0)
    assert await held(service_store, acme.id) == 1


async def test_returned_slots_are_released_first_and_the_rest_go_to_waiters(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    limit = in_flight(acme.id, 4)
    spares = await reserved(service_store, limit, 3)
    claim = await waiter(service_store, db_clock, limit, delay=60.0)
    # The reserve gives its three spares back with an attempt that takes one slot and
    # asks for no spares: one slot of the three is taken again, so the waiter is woken.
    again = ticket(acme.id, limit=limit, returned=spares)
    assert (await service_store.delivery.admit(again)).slot
    assert await held(service_store, acme.id) == 2
    due = await service_store.claim_due(lease_seconds=30, limit=10)
    assert [found.run_id for found in due] == [claim.run_id]


async def test_slots_given_back_wake_as_many_waiters_and_a_second_give_back_does_nothing(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    limit = in_flight(acme.id, 3)
    spares = await reserved(service_store, limit, 2)
    waiters = [await waiter(service_store, db_clock, limit, delay=d) for d in (30.0, 10.0, 20.0)]
    await service_store.delivery.give_back(org_id=acme.id, host=HOST, slot_ids=spares)
    await service_store.delivery.give_back(org_id=acme.id, host=HOST, slot_ids=spares)
    assert await held(service_store, acme.id) == 1  # the attempt's own slot stays
    due = await service_store.claim_due(lease_seconds=30, limit=10)
    assert sorted(found.run_id for found in due) == sorted([waiters[1].run_id, waiters[2].run_id])


async def test_another_organizations_slots_are_not_given_back(
    service_store: ServiceStore, acme: Organization, bravo: Organization
) -> None:
    spares = await reserved(service_store, in_flight(acme.id, 5), 2)
    await service_store.delivery.give_back(org_id=bravo.id, host=HOST, slot_ids=spares)
    assert await held(service_store, acme.id) == 3


async def test_a_refill_ahead_refused_by_the_rate_hands_out_no_turn(
    service_store: ServiceStore, acme: Organization
) -> None:
    limit = HostLimit(org_id=acme.id, host=HOST, rate_per_second=2, burst=1)
    assert (await service_store.delivery.admit(ticket(acme.id, limit=limit))).admitted
    ahead = replace(ticket(acme.id, limit=limit, spares=4), reserve_only=True)
    refused = await service_store.delivery.admit(ahead)
    assert refused.deferral is not None
    assert refused.spares == 0
    # The next real waiter's turn is the first one, not one after the refill's.
    waiting = (await service_store.delivery.admit(ticket(acme.id, limit=limit))).deferral
    assert waiting is not None
    assert abs(waiting.delay - 0.5) < 1e-6


async def test_a_refill_ahead_takes_its_own_slot_and_spares_for_the_reserve(
    service_store: ServiceStore, acme: Organization
) -> None:
    ahead = replace(ticket(acme.id, limit=in_flight(acme.id, 10), spares=3), reserve_only=True)
    answer = await service_store.delivery.admit(ahead)
    assert (answer.slot, answer.spares, answer.crowded) == (True, 3, False)
    assert await held(service_store, acme.id) == 4
