"""Results arriving together share a statement on PostgreSQL, each still fenced alone.

The first two results of a burst each go out alone (two group commits may be in
flight on PostgreSQL, one on SQLite); the rest wait and share the next commit,
where PostgreSQL records those of one decision in one statement
(`store/merged_results.py`). SQLite runs each result's statements in turn.
"""

from __future__ import annotations

import asyncio

import pytest

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import Claim, LeaseLostError
from callout.store.sql_store import SqlStore
from integration.durable.contract_runs import LONG_AFTER, T0, at, ended, run_of
from support.statements import statements_of

RUNS = 20


async def _claimed(store: SqlStore, count: int, steps: tuple[str, ...] = ("a",)) -> list[Claim]:
    for n in range(count):
        await store.create_run(run_of(f"wfr_{n:02}", steps))
    claims = await store.claim_due(lease_seconds=30, limit=count)
    assert len(claims) == count  # the premise: every first step claimed
    return sorted(claims, key=lambda claimed: claimed.run_id)


async def test_results_arriving_together_are_one_statement_per_decision_on_postgresql(
    store: SqlStore,
) -> None:
    claims = await _claimed(store, RUNS, steps=("a", "b"))
    decisions = [Decision.RETRY if n % 5 == 4 else Decision.SUCCEEDED for n in range(RUNS)]
    with statements_of(store) as seen:
        await asyncio.gather(
            *(
                store.finish_attempt(claimed, ended(claimed, decision))
                for claimed, decision in zip(claims, decisions, strict=True)
            )
        )
    postgres = store.engine.dialect.name == "postgresql"
    # PostgreSQL: two alone, then the other 18 in two statements (successes, retries).
    # SQLite: a fence per result (20), then per batch and decision the attempts ended
    # and the next steps made due (no run completed: each found its next step): the
    # first success alone (2), then the other 15 successes (2) and the 4 retries (1).
    assert len(seen) == (4 if postgres else 20 + 2 + 2 + 1)
    for claimed, decision in zip(claims, decisions, strict=True):
        run = await store.get_run(claimed.run_id)
        first, second = run.steps
        assert first.attempts[0].status == ("failed" if decision is Decision.RETRY else "succeeded")
        assert first.attempts[0].ended_at is not None
        if decision is Decision.RETRY:
            assert (first.status, second.status) == ("waiting", "pending")
            assert first.attempts[0].error == {"type": "http_status", "message": "503"}
            assert first.attempts[0].next_attempt_at is not None
        else:
            assert (first.status, first.output) == ("succeeded", {"status": 200})
            assert second.due_at is not None  # the next step made due
    # The next steps are due: each claimable, once.
    following = await store.claim_due(lease_seconds=30, limit=RUNS)
    assert sorted(claimed.run_id for claimed in following) == sorted(
        claimed.run_id
        for claimed, decision in zip(claims, decisions, strict=True)
        if decision is Decision.SUCCEEDED
    )
    assert {claimed.step_id for claimed in following} == {"b"}


async def test_a_last_step_recorded_with_others_completes_its_run(store: SqlStore) -> None:
    claims = await _claimed(store, 6)
    await asyncio.gather(
        *(store.finish_attempt(claimed, ended(claimed, Decision.SUCCEEDED)) for claimed in claims)
    )
    assert {(await store.get_run(claimed.run_id)).status for claimed in claims} == {"completed"}


async def test_last_steps_and_steps_with_a_next_recorded_together_each_move_on_as_alone(
    store: SqlStore,
) -> None:
    for n in range(6):  # even runs have one step, odd runs two
        await store.create_run(run_of(f"wfr_{n:02}", ("a", "b") if n % 2 else ("a",)))
    claims = await store.claim_due(lease_seconds=30, limit=6)
    assert len(claims) == 6  # the premise: every first step claimed
    await asyncio.gather(
        *(store.finish_attempt(claimed, ended(claimed, Decision.SUCCEEDED)) for claimed in claims)
    )
    for claimed in claims:
        run = await store.get_run(claimed.run_id)
        if len(run.steps) == 1:
            assert (run.status, run.finished_at is not None) == ("completed", True)
        else:
            assert (run.status, run.finished_at) == ("running", None)
            assert run.steps[1].due_at is not None  # its next step made due, once
    following = await store.claim_due(lease_seconds=30, limit=6)
    assert sorted(claimed.run_id for claimed in following) == ["wfr_01", "wfr_03", "wfr_05"]


async def test_a_final_error_recorded_with_others_fails_its_run_and_skips_the_rest(
    store: SqlStore,
) -> None:
    claims = await _claimed(store, 4, steps=("a", "b"))
    outcomes = [Decision.SUCCEEDED, Decision.SUCCEEDED, Decision.ERRORED_FAIL, Decision.SUCCEEDED]
    await asyncio.gather(
        *(
            store.finish_attempt(claimed, ended(claimed, decision))
            for claimed, decision in zip(claims, outcomes, strict=True)
        )
    )
    failed = await store.get_run(claims[2].run_id)
    assert failed.status == "failed"
    assert [step.status for step in failed.steps] == ["errored", "skipped"]
    assert (await store.get_run(claims[3].run_id)).status == "running"


async def test_a_result_whose_lease_was_taken_over_is_refused_alone(
    timed_store: SqlStore, db_clock: ManualClock
) -> None:
    at(db_clock, T0)
    claims = await _claimed(timed_store, 4)
    at(db_clock, T0 + LONG_AFTER)  # every lease expired; one step run is taken over
    [taken] = await timed_store.claim_due(lease_seconds=30, limit=1, run_id=claims[2].run_id)
    # The first two go out alone; the other three share a commit (on PostgreSQL one
    # statement), the old holder's result and the new one's for the same step run among them.
    outcomes = await asyncio.gather(
        *(
            timed_store.finish_attempt(claimed, ended(claimed, Decision.SUCCEEDED))
            for claimed in (*claims[:3], taken, claims[3])
        ),
        return_exceptions=True,
    )
    assert [type(outcome) for outcome in outcomes] == [
        type(None),
        type(None),
        LeaseLostError,
        type(None),
        type(None),
    ]
    assert "was taken over" in str(outcomes[2])
    for claimed in claims:
        assert (await timed_store.get_run(claimed.run_id)).status == "completed"
    # The refused result wrote nothing: its attempt stays as the takeover left it.
    [step] = (await timed_store.get_run(claims[2].run_id)).steps
    assert [attempt.status for attempt in step.attempts] == ["interrupted", "succeeded"]
    assert step.attempts[1].id == taken.attempt_id


@pytest.mark.parametrize("decision", [Decision.ERRORED_CONTINUE, Decision.RETRY])
async def test_results_of_other_decisions_recorded_together_read_as_recorded_alone(
    store: SqlStore, decision: Decision
) -> None:
    claims = await _claimed(store, 4, steps=("a", "b"))
    # The first two alone (on PostgreSQL each a statement of one), the last two together.
    await asyncio.gather(*(store.finish_attempt(each, ended(each, decision)) for each in claims))
    seen = []
    for claimed in claims:
        run = await store.get_run(claimed.run_id)
        step = run.steps[0]
        attempt = step.attempts[0]
        seen.append(
            (run.status, step.status, step.output, step.error, attempt.status, attempt.error)
        )
    assert all(each == seen[0] for each in seen)  # alone or together, the same record
    error = {"type": "http_status", "message": "503"}
    if decision is Decision.RETRY:  # the step waits; the attempt has the error
        assert seen[0] == ("running", "waiting", None, None, "failed", error)
    else:  # the step errored and the run went on to the next
        assert seen[0] == ("running", "errored", None, error, "failed", error)
