"""A result costs what it did before delivery control and run events, unless it carries them.

The common result (no host outcome, no wanted event) runs the same statements as
before: on PostgreSQL one statement (one round trip), on SQLite four.
"""

from __future__ import annotations

from dataclasses import replace

from callout.model.records import Decision
from callout.store.delivery import HostOutcome
from callout.store.sql_store import SqlStore
from integration.durable.contract_runs import claim, ended, run_of
from support.statements import statements_of


async def test_a_result_without_host_or_events_adds_no_statement(store: SqlStore) -> None:
    await store.create_run(run_of())
    claimed = await claim(store)
    with statements_of(store) as seen:
        await store.finish_attempt(claimed, ended(claimed, Decision.SUCCEEDED))
    postgres = store.engine.dialect.name == "postgresql"
    assert len(seen) == (1 if postgres else 4)  # as before: the fence, attempt, next, run
    assert not any("host_" in statement or "run_events" in statement for statement in seen)


async def test_a_result_that_gives_a_slot_back_adds_one_round_trip_on_postgresql(
    store: SqlStore,
) -> None:
    await store.create_run(run_of())
    claimed = await claim(store)
    host = HostOutcome(org_id="org_1", host="api.example.com", failed=False, slot=True)
    with statements_of(store) as seen:
        await store.finish_attempt(claimed, replace(ended(claimed, Decision.SUCCEEDED), host=host))
    postgres = store.engine.dialect.name == "postgresql"
    # The slot released and handed to the next waiter, failures left alone: on PostgreSQL
    # one statement more, on SQLite three (release, hand over, reset).
    assert len(seen) == (2 if postgres else 7)
    assert any("waiting_for" in statement for statement in seen)
    assert any("consecutive_failures" in statement for statement in seen)


async def test_a_slot_given_back_to_a_host_known_untroubled_resets_nothing(
    store: SqlStore,
) -> None:
    await store.create_run(run_of())
    claimed = await claim(store)
    host = HostOutcome(org_id="org_1", host="api.example.com", failed=False, slot=True, reset=False)
    with statements_of(store) as seen:
        await store.finish_attempt(claimed, replace(ended(claimed, Decision.SUCCEEDED), host=host))
    postgres = store.engine.dialect.name == "postgresql"
    # The release and the hand-over only (one statement on PostgreSQL): the host's row
    # is not read, locked or written.
    assert len(seen) == (2 if postgres else 6)
    assert any("waiting_for" in statement for statement in seen)
    assert not any("host_states" in statement for statement in seen)


async def test_attempts_claimed_together_get_ids_of_their_own(store: SqlStore) -> None:
    for number in range(40):
        await store.create_run(run_of(f"wfr_{number}"))
    claims = await store.claim_due(lease_seconds=30, limit=64)
    ids = [claim.attempt_id for claim in claims]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    assert all(found.startswith("att_") and len(found) == len("att_") + 26 for found in ids)
    runs = [await store.get_run(claim.run_id) for claim in claims]
    recorded = {attempt.id for run in runs for attempt in run.steps[0].attempts}
    assert recorded == set(ids)  # the ids the claims carry are the attempts recorded


async def test_a_claim_is_one_statement_on_postgresql(store: SqlStore) -> None:
    for number in range(3):
        await store.create_run(run_of(f"wfr_{number}"))
    with statements_of(store) as seen:
        claims = await store.claim_due(lease_seconds=30, limit=10)
    assert len(claims) == 3
    assert [claim.next_number for claim in claims] == [1, 1, 1]
    postgres = store.engine.dialect.name == "postgresql"
    # SQLite: the lease, the interrupted ones, the attempts, the runs, their inputs.
    assert len(seen) == (1 if postgres else 5)
