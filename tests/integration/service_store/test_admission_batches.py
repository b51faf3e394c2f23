"""Admissions asked at once: decided together, with the same answers as one by one.

On SQLite and PostgreSQL the tickets that arrive while a batch is in the database
go together in the next (`sql_delivery.AdmissionBatches`), a host's tickets decided
in turn on its row (`delivery_sql.admit_many`). The contract tests ask at once on
all three stores; the in-memory store decides one by one, so it is the reference.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa

from callout.model.clock import ManualClock
from callout.store import delivery_sql
from callout.store.delivery import Admission, AdmitTicket, HostLimit
from callout.store.organizations import Organization
from callout.store.protocol import NotFoundError
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore
from integration.service_store.delivery_seeds import HOST, in_flight, sent, ticket
from integration.service_store.seeds import T0, set_time


async def at_once(store: ServiceStore, tickets: list[AdmitTicket]) -> list[Admission]:
    return list(await asyncio.gather(*(store.delivery.admit(asked) for asked in tickets)))


async def test_many_asking_at_once_take_exactly_the_limit(
    service_store: ServiceStore, acme: Organization
) -> None:
    limit = in_flight(acme.id, 5)
    answers = await at_once(service_store, [ticket(acme.id, limit=limit) for _ in range(30)])
    assert [answer.slot for answer in answers].count(True) == 5
    waiting = [answer.deferral for answer in answers if not answer.admitted]
    assert len(waiting) == 25
    assert {deferral.kind for deferral in waiting if deferral} == {"in_flight"}
    [state] = await service_store.delivery.host_states(org_id=acme.id)
    assert state.in_flight == 5


async def test_the_same_attempt_asking_twice_at_once_holds_one_slot(
    service_store: ServiceStore, acme: Organization
) -> None:
    asking = ticket(acme.id, limit=in_flight(acme.id, 2))
    answers = await at_once(service_store, [asking, asking])
    assert [(answer.admitted, answer.slot) for answer in answers] == [(True, True)] * 2
    [state] = await service_store.delivery.host_states(org_id=acme.id)
    assert state.in_flight == 1
    assert (await service_store.delivery.admit(ticket(acme.id, limit=asking.limit))).slot


async def test_a_rate_asked_at_once_gives_the_burst_then_turns_at_the_rate(
    service_store: ServiceStore, acme: Organization
) -> None:
    limit = HostLimit(org_id=acme.id, host=HOST, rate_per_second=4, burst=3)
    answers = await at_once(service_store, [ticket(acme.id, limit=limit) for _ in range(6)])
    assert sum(answer.admitted for answer in answers) == 3
    turns = sorted(answer.deferral.delay for answer in answers if answer.deferral)
    assert turns == [0.25, 0.5, 0.75]


async def test_a_paused_host_asked_at_once_after_its_pause_sends_one_probe(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    for _ in range(3):  # the seeds' outcomes open the breaker at 3 failures, for 30 s
        await sent(service_store, db_clock, acme.id, failed=True)
    set_time(db_clock, T0 + 31)
    answers = await at_once(service_store, [ticket(acme.id) for _ in range(8)])
    assert [answer.probe for answer in answers].count(True) == 1
    waiting = [answer.deferral for answer in answers if not answer.admitted]
    assert len(waiting) == 7
    assert {deferral.kind for deferral in waiting if deferral} == {"breaker"}


async def test_organizations_and_hosts_in_one_batch_are_decided_apart(
    store: SqlStore, org_a: Organization, org_b: Organization
) -> None:
    # One batch straight on a connection: two organizations' limits, another host of
    # the first, and an organization that does not exist, interleaved.
    other_host = AdmitTicket(
        org_id=org_a.id,
        host="other.example.com",
        attempt_id="att_other",
        step_run_id="stp_none",
        hold_for=40.0,
        limit=HostLimit(org_id=org_a.id, host="other.example.com", max_in_flight=1),
    )
    tickets = [
        ticket(org_a.id, limit=in_flight(org_a.id, 1)),
        ticket(org_b.id, limit=in_flight(org_b.id, 2)),
        ticket("org_missing", limit=in_flight("org_missing", 9)),
        ticket(org_a.id, limit=in_flight(org_a.id, 1)),
        other_host,
        ticket(org_b.id, limit=in_flight(org_b.id, 2)),
        ticket(org_b.id, limit=in_flight(org_b.id, 2)),
    ]
    with store.engine.begin() as conn:
        answers = delivery_sql.admit_many(conn, tickets)
    went = [isinstance(answer, Admission) and answer.admitted for answer in answers]
    assert went == [True, True, False, False, True, True, False]
    assert isinstance(answers[2], NotFoundError)
    assert {
        state.host: state.in_flight for state in await store.delivery.host_states(org_id=org_a.id)
    } == {
        HOST: 1,
        "other.example.com": 1,
    }
    [state_b] = await store.delivery.host_states(org_id=org_b.id)
    assert state_b.in_flight == 2


async def test_tickets_arriving_while_a_batch_is_decided_go_together_in_the_next(
    store: SqlStore, org_a: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    entered, release = threading.Event(), threading.Event()
    decide = delivery_sql.admit_many

    def counted(conn: sa.Connection, tickets: list[AdmitTicket]) -> object:
        batches.append(len(tickets))
        entered.set()
        assert release.wait(10), "the test never let the first batch go"
        return decide(conn, tickets)

    monkeypatch.setattr(delivery_sql, "admit_many", counted)
    limit = in_flight(org_a.id, 100)
    first = asyncio.create_task(store.delivery.admit(ticket(org_a.id, limit=limit)))
    assert await asyncio.to_thread(entered.wait, 10)  # the first is in the database alone
    later = [
        asyncio.create_task(store.delivery.admit(ticket(org_a.id, limit=limit))) for _ in range(10)
    ]
    await asyncio.sleep(0.05)
    assert batches == [1]  # the later ones wait for the first batch, not beside it
    release.set()
    answers = [await first] + [await asked for asked in later]
    assert all(answer.slot for answer in answers)
    assert batches == [1, 10]


async def test_tickets_asked_in_one_go_are_one_batch(
    store: SqlStore, org_a: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    decide = delivery_sql.admit_many

    def counted(conn: sa.Connection, tickets: list[AdmitTicket]) -> object:
        batches.append(len(tickets))
        return decide(conn, tickets)

    monkeypatch.setattr(delivery_sql, "admit_many", counted)
    limit = in_flight(org_a.id, 100)
    answers = await at_once(store, [ticket(org_a.id, limit=limit) for _ in range(40)])
    assert all(answer.slot for answer in answers)
    assert batches == [40]


async def test_a_ticket_alone_is_answered_and_a_missing_organization_raised(
    store: SqlStore, org_a: Organization
) -> None:
    limit = in_flight(org_a.id, 1)
    first = await store.delivery.admit(ticket(org_a.id, limit=limit))
    second = await store.delivery.admit(ticket(org_a.id, limit=limit))
    assert (first.slot, second.admitted) == (True, False)
    with pytest.raises(NotFoundError):
        await store.delivery.admit(ticket("org_missing", limit=limit))


async def test_a_batch_cancelled_in_the_database_leaves_no_caller_waiting(
    store: SqlStore, org_a: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def cancelled(*_: object, **__: object) -> object:
        raise asyncio.CancelledError

    limit = in_flight(org_a.id, 5)
    with monkeypatch.context() as patch:
        patch.setattr(store, "write_unsynced", cancelled)
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(store.delivery.admit(ticket(org_a.id, limit=limit)), 5)
    # The next ticket is decided by a new batch.
    assert (await store.delivery.admit(ticket(org_a.id, limit=limit))).slot
