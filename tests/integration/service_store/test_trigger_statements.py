"""What a trigger's start costs in statements: on PostgreSQL one round trip.

`trigger_calls.start_runs` records the call and starts its runs. On PostgreSQL the
call, every run and every step run go in one statement (data-modifying CTEs that
insert the runs only when the call's key was free); on SQLite, in process, one
statement each. The rows are those the contract tests in test_trigger_calls.py
read back on every store; here, the statements and a fan-out of two runs.
"""

from __future__ import annotations

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
    # SQLite: the call, then each run's row and its step runs.
    assert len(writes(seen)) == (1 if postgres else 5)
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
