"""The circuit breaker's records: open, probe, close, reopen, resume (contract tests).

Each test runs on SQLite, PostgreSQL and in memory (`service_store`), whose clock,
the database's, is `db_clock` at T0. Failures are recorded by results
(`FinishedAttempt.host`) that open the breaker at 3 with a first pause of 30 s.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from callout.model.clock import ManualClock
from callout.store.delivery import MAX_BREAKER_PAUSE, BreakerState
from callout.store.organizations import Organization
from callout.store.protocol import NotFoundError
from callout.store.service import ServiceStore
from integration.service_store.delivery_seeds import (
    HOST,
    claimed,
    ended,
    in_flight,
    outcome,
    sent,
    ticket,
)
from integration.service_store.seeds import T0, set_time


async def opened(store: ServiceStore, clock: ManualClock, org_id: str, at: float = T0) -> None:
    """Fail three attempts to `HOST` at `at`: the breaker opens, its first probe at + 30 s."""
    set_time(clock, at)
    for _ in range(3):
        await sent(store, clock, org_id, failed=True)


async def probe(store: ServiceStore, clock: ManualClock, org_id: str, *, failed: bool) -> None:
    """Claim an attempt, have it admitted as the probe, and record its end."""
    claim = await claimed(store, clock, org_id)
    answer = await store.delivery.admit(ticket(org_id, attempt_id=claim.attempt_id))
    assert answer.probe
    host = outcome(org_id, failed=failed, probe=True)
    await store.finish_attempt(claim, ended(claim, host, failed=failed))


async def test_failures_in_a_row_open_the_breaker_and_attempts_wait_for_the_probe(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    for _ in range(2):
        await sent(service_store, db_clock, acme.id, failed=True)
    troubled = await records.troubled_hosts(org_id=acme.id)
    assert (troubled[HOST].breaker, troubled[HOST].consecutive_failures) == ("closed", 2)
    assert troubled[HOST].last_error == "http_status 503"
    assert await records.paused_hosts() == []
    set_time(db_clock, T0 + 2)
    await sent(service_store, db_clock, acme.id, failed=True)
    [paused] = await records.paused_hosts()
    assert (paused.org_id, paused.host, paused.breaker) == (acme.id, HOST, BreakerState.OPEN)
    assert (paused.opened_at, paused.next_probe_at) == (T0 + 2, T0 + 32)
    set_time(db_clock, T0 + 10)
    held = (await records.admit(ticket(acme.id))).deferral
    assert held is not None
    assert (held.kind, held.delay) == ("breaker", 22)
    assert held.reason == (
        f"{HOST} is paused after 3 failed attempts in a row; next probe at 2027-01-15T08:00:32Z"
    )
    [state] = await records.host_states(org_id=acme.id)
    assert (state.breaker, state.in_flight) == (BreakerState.OPEN, 0)


async def test_a_success_resets_the_count_and_the_next_failures_start_again(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    for _ in range(2):
        await sent(service_store, db_clock, acme.id, failed=True)
    await sent(service_store, db_clock, acme.id, failed=False)
    assert await records.troubled_hosts(org_id=acme.id) == {}
    for _ in range(2):
        await sent(service_store, db_clock, acme.id, failed=True)
    assert (await records.troubled_hosts(org_id=acme.id))[HOST].breaker == "closed"


async def test_a_success_from_a_worker_that_knew_the_host_untroubled_only_gives_its_slot_back(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    # Another worker counted two failures; this one read the host as untroubled a
    # moment earlier (its cache), so its success releases the slot and resets nothing.
    records = service_store.delivery
    for _ in range(2):
        await sent(service_store, db_clock, acme.id, failed=True)
    claim = await claimed(service_store, db_clock, acme.id)
    held = await records.admit(
        ticket(acme.id, attempt_id=claim.attempt_id, limit=in_flight(acme.id, 1))
    )
    assert held.slot
    unaware = replace(outcome(acme.id, failed=False, slot=True), reset=False)
    await service_store.finish_attempt(claim, ended(claim, unaware, failed=False))
    [state] = await records.host_states(org_id=acme.id)
    assert (state.consecutive_failures, state.in_flight) == (2, 0)


async def test_a_breaker_turned_off_counts_failures_and_never_opens(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    for _ in range(4):
        claim = await claimed(service_store, db_clock, acme.id)
        host = outcome(acme.id, failed=True, failures_to_open=0)
        await service_store.finish_attempt(claim, ended(claim, host, failed=True))
    [state] = await service_store.delivery.host_states(org_id=acme.id)
    assert (state.breaker, state.consecutive_failures) == (BreakerState.CLOSED, 4)
    assert (await service_store.delivery.admit(ticket(acme.id))).admitted


async def test_the_first_attempt_after_the_pause_probes_and_its_success_closes(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    await opened(service_store, db_clock, acme.id)
    set_time(db_clock, T0 + 30)
    prober = await claimed(service_store, db_clock, acme.id)
    answer = await records.admit(ticket(acme.id, attempt_id=prober.attempt_id))
    assert (answer.admitted, answer.probe, answer.slot) == (True, True, False)
    assert (await records.paused_hosts())[0].breaker == BreakerState.HALF_OPEN
    waiter = await claimed(service_store, db_clock, acme.id)  # another step run, held back
    asked = ticket(acme.id, attempt_id=waiter.attempt_id, step_run_id=waiter.step_run_id)
    held = (await records.admit(asked)).deferral
    assert held is not None
    assert (held.kind, held.reason) == ("breaker", f"waiting for the probe to {HOST} to answer")
    await service_store.defer(waiter, held)
    assert await service_store.seconds_until_due(waiter.run_id) == pytest.approx(
        held.delay, abs=1e-6
    )
    set_time(db_clock, T0 + 30)
    host = outcome(acme.id, failed=False, probe=True)
    await service_store.finish_attempt(prober, ended(prober, host, failed=False))
    assert await records.paused_hosts() == []
    assert await records.troubled_hosts(org_id=acme.id) == {}
    [state] = await records.host_states(org_id=acme.id)
    assert (state.opened_at, state.next_probe_at, state.waiting) == (None, None, 1)
    assert await service_store.seconds_until_due(waiter.run_id) == 0  # woken by the close


async def test_a_failed_probe_opens_the_breaker_again_for_twice_the_pause(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    await opened(service_store, db_clock, acme.id)
    set_time(db_clock, T0 + 30)
    await probe(service_store, db_clock, acme.id, failed=True)
    [paused] = await records.paused_hosts()
    assert (paused.breaker, paused.next_probe_at) == (BreakerState.OPEN, T0 + 90)
    assert paused.opened_at == T0  # paused since the first opening
    held = (await records.admit(ticket(acme.id))).deferral
    assert held is not None
    assert held.delay == 60
    assert "paused after 4 failed attempts in a row" in held.reason
    set_time(db_clock, T0 + 90)
    await probe(service_store, db_clock, acme.id, failed=True)
    assert (await records.paused_hosts())[0].next_probe_at == T0 + 90 + 120


async def test_the_pause_doubles_up_to_the_longest(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    for _ in range(3):
        claim = await claimed(service_store, db_clock, acme.id)
        host = outcome(acme.id, failed=True, first_pause=400)
        await service_store.finish_attempt(claim, ended(claim, host, failed=True))
    set_time(db_clock, T0 + 400)
    await probe(service_store, db_clock, acme.id, failed=True)
    [paused] = await service_store.delivery.paused_hosts()
    assert paused.next_probe_at == T0 + 400 + MAX_BREAKER_PAUSE


async def test_a_probe_whose_worker_died_lets_the_next_attempt_probe(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    records = service_store.delivery
    await opened(service_store, db_clock, acme.id)
    set_time(db_clock, T0 + 30)
    assert (await records.admit(ticket(acme.id, hold_for=10))).probe
    set_time(db_clock, T0 + 39)
    assert not (await records.admit(ticket(acme.id))).admitted  # its answer is awaited
    set_time(db_clock, T0 + 40)  # the probe's hold ran out: nobody will answer for it
    again = await records.admit(ticket(acme.id))
    assert (again.admitted, again.probe) == (True, True)
    assert (await records.paused_hosts())[0].breaker == BreakerState.HALF_OPEN


async def test_resuming_a_host_closes_it_and_its_waiting_step_runs_are_due_at_once(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization, bravo: Organization
) -> None:
    records = service_store.delivery
    await opened(service_store, db_clock, acme.id)
    set_time(db_clock, T0 + 5)
    waiter = await claimed(service_store, db_clock, acme.id)
    asked = ticket(acme.id, attempt_id=waiter.attempt_id, step_run_id=waiter.step_run_id)
    held = (await records.admit(asked)).deferral
    assert held is not None
    await service_store.defer(waiter, held)
    assert await service_store.seconds_until_due(waiter.run_id) == 25
    [state] = await records.host_states(org_id=acme.id)
    assert state.waiting == 1
    resumed = await records.resume_host(org_id=acme.id, host=HOST)
    assert (resumed.breaker, resumed.consecutive_failures, resumed.next_probe_at) == (
        BreakerState.CLOSED,
        0,
        None,
    )
    assert resumed.last_error == "http_status 503"  # kept, for the operator
    assert await service_store.seconds_until_due(waiter.run_id) == 0
    [again] = await service_store.claim_due(lease_seconds=30, limit=1, run_id=waiter.run_id)
    assert (await records.admit(ticket(acme.id, attempt_id=again.attempt_id))).admitted
    with pytest.raises(NotFoundError):
        await records.resume_host(org_id=bravo.id, host=HOST)
    with pytest.raises(NotFoundError):
        await records.resume_host(org_id=acme.id, host="other.example.com")
