"""Admissions from two stores at once on one PostgreSQL database: the limit holds for both.

Each store has its own pool of threads and connections, like two worker
processes; the host's row, locked by each admission, is what serialises them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from callout.model.clock import SystemClock
from callout.store.database import database_url
from callout.store.delivery import Admission
from callout.store.sql_store import SqlStore, open_store
from callout.store.tables import host_slots
from integration.service_store.delivery_seeds import (
    HOST,
    claimed,
    ended,
    in_flight,
    outcome,
    ticket,
)
from integration.service_store.seeds import T0, new_org

MOST = 5


@pytest.fixture
async def two_stores(pg_url: str) -> AsyncIterator[tuple[SqlStore, SqlStore]]:
    first = await open_store(database_url(pg_url))
    second = await open_store(database_url(pg_url))
    yield first, second
    await first.close()
    await second.close()


def live_slots(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(host_slots)).scalar_one())


async def test_many_admissions_at_once_take_exactly_the_limit(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = two_stores
    org = await new_org(first, "Acme", now=T0)
    limit = in_flight(org.id, MOST)
    answers = await asyncio.gather(
        *(
            store.delivery.admit(ticket(org.id, limit=limit, hold_for=600))
            for _ in range(40)
            for store in (first, second)
        )
    )
    assert sum(answer.admitted for answer in answers) == MOST
    assert live_slots(first) == MOST  # one slot row per admission, no more
    [state] = await second.delivery.host_states(org_id=org.id)
    assert (state.host, state.in_flight) == (HOST, MOST)


async def test_the_limit_holds_while_slots_are_given_back_and_taken_again(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = two_stores
    org = await new_org(first, "Acme", now=T0)
    limit = in_flight(org.id, MOST)
    clock = SystemClock()  # both stores keep the database's own time
    seen: list[int] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            seen.append(await asyncio.to_thread(live_slots, first))

    async def sender(store: SqlStore) -> int:
        admitted = 0
        for _ in range(10):
            claim = await claimed(store, clock, org.id)
            asked = ticket(org.id, limit=limit, attempt_id=claim.attempt_id, hold_for=600)
            answer: Admission = await store.delivery.admit(asked)
            if answer.deferral is not None:
                await store.defer(claim, answer.deferral)
                continue
            admitted += 1
            host = outcome(org.id, failed=False, slot=True)  # the result gives the slot back
            await store.finish_attempt(claim, ended(claim, host, failed=False))
        return admitted

    watcher = asyncio.create_task(watch())
    admitted = await asyncio.gather(*(sender(store) for store in (first, second) * 3))
    done.set()
    await watcher
    assert sum(admitted) > MOST  # slots were given back and taken again
    assert seen
    assert max(seen) <= MOST
    assert live_slots(first) == 0
