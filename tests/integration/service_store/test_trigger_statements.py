"""What a trigger's start costs in statements: on PostgreSQL one round trip.

`trigger_calls.start_runs` records the call and starts its runs. On PostgreSQL the
call, every run and every step run go in one statement (data-modifying CTEs that
insert the runs only when the call's key was free); on SQLite, in process, one
statement each. The rows are those the contract tests in test_trigger_calls.py
read back on every store; here, the statements and a fan-out of two runs.
"""

from __future__ import annotations

import asyncio
import dataclasses

import sqlalchemy as sa

from callout.store.organizations import Organization
from callout.store.sql_store import SqlStore
from callout.store.workflow_records import CallOutcome
from integration.service_store.seeds import T0, service_run
from integration.service_store.test_trigger_calls import new_call
from support.statements import statements_of


def writes(seen: list[str]) -> list[str]:
    return [statement for statement in seen if "NOTIFY" not in statement.upper()]


async def test_a_trigger_with_two_runs_is_one_statement_on_postgresql(
    store: SqlStore, org_a: Organization
) -> None:
    first = service_run(now=T0, org_id=org_a.id, workflow_id="wfl_1")
    second = service_run(now=T0, org_id=org_a.id, workflow_id="wfl_2")
    call = new_call(org_a, key="evt-1", workflow_id=None, event="signup")
    with statements_of(store) as seen:
        outcome = await store.workflows.start_runs(call, [first, second])
    assert outcome == CallOutcome(call, replayed=False)
    postgres = store.engine.dialect.name == "postgresql"
    # SQLite: the call, then the runs' rows, then their step runs.
    assert len(writes(seen)) == (1 if postgres else 3)
    for run in (first, second):
        stored = await store.get_run(run.id)
        assert (stored.workflow_id, stored.created_at) == (run.workflow_id, T0)
        assert [step.status for step in stored.steps] == ["pending"]
        assert stored.steps[0].due_at == T0  # the first step is due at once


async def test_a_repeated_key_writes_nothing_and_replays_in_two_statements(
    store: SqlStore, org_a: Organization
) -> None:
    run = service_run(now=T0, org_id=org_a.id)
    call = new_call(org_a, key="order-1", response={"run_id": run.id})
    await store.workflows.start_runs(call, [run])
    again = service_run(now=T0, org_id=org_a.id)
    with statements_of(store) as seen:
        outcome = await store.workflows.start_runs(
            new_call(org_a, key="order-1", response={"other": True}), [again]
        )
    assert outcome == CallOutcome(call, replayed=True)
    assert len(writes(seen)) == 2  # the refused insert, then the earlier call read
    assert [found.id for found in await store.list_runs()] == [run.id]


async def test_trigger_calls_arriving_together_are_one_statement_on_postgresql(
    store: SqlStore, org_a: Organization
) -> None:
    # The first two calls each go out alone (two group commits may be in flight on
    # PostgreSQL, one on SQLite); the other 18 wait and share the next commit.
    calls = [new_call(org_a, key=f"evt-{n}") for n in range(20)]
    runs = [service_run(now=T0, org_id=org_a.id) for _ in calls]
    with statements_of(store) as seen:
        outcomes = await asyncio.gather(
            *(
                store.workflows.start_runs(call, [run])
                for call, run in zip(calls, runs, strict=True)
            )
        )
    assert outcomes == [CallOutcome(call, replayed=False) for call in calls]
    postgres = store.engine.dialect.name == "postgresql"
    # SQLite: each call's row, then per commit the runs and their step runs: the first
    # call alone (3), then the other 19 (19 + 2).
    assert len(writes(seen)) == (3 if postgres else 3 + 19 + 2)
    assert {run.id for run in await store.list_runs(limit=100)} == {run.id for run in runs}


async def test_a_merged_write_that_fails_fails_each_of_its_callers_and_commits_nothing(
    store: SqlStore, org_a: Organization
) -> None:
    calls = [new_call(org_a, key=f"evt-{n}") for n in range(4)]
    runs = [service_run(now=T0, org_id=org_a.id) for _ in calls]
    runs[3] = dataclasses.replace(runs[3], id=runs[2].id)  # the last two share a commit
    outcomes = await asyncio.gather(
        *(store.workflows.start_runs(call, [run]) for call, run in zip(calls, runs, strict=True)),
        return_exceptions=True,
    )
    # The first went out alone; the last two shared a commit, on every database.
    assert outcomes[0] == CallOutcome(calls[0], replayed=False)
    # A broken write (two runs of one id) is a fault, not an outage: it passes as it is.
    assert [type(outcome) for outcome in outcomes[2:]] == [sa.exc.IntegrityError] * 2
    answered = [
        call
        for call, outcome in zip(calls, outcomes, strict=True)
        if not isinstance(outcome, Exception)
    ]
    recorded = await store.workflows.list_calls(org_id=org_a.id)
    assert sorted(call.id for call in recorded) == sorted(call.id for call in answered)
