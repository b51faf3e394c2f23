"""Store contract: a cancelled run has nothing left to claim, and its lease holder is fenced off.

On SQLite, PostgreSQL and in memory (`contract_store`); `db_clock` is the database's clock.
(tests/integration/service_store/test_run_cancel.py covers cancel for runs of organizations.)
"""

from __future__ import annotations

import pytest

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import (
    LeaseLostError,
    RunStateError,
    Store,
    UnknownRunError,
)
from integration.durable.contract_runs import LONG_AFTER, T0, at, claim, ended, run_of


async def test_a_cancelled_pending_run_leaves_nothing_to_claim_and_others_untouched(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of(steps=("a", "b")))
    await store.create_run(run_of(steps=("a", "b"), run_id="wfr_other"))
    at(db_clock, T0 + 5)
    await store.cancel("wfr_1")
    run = await store.get_run("wfr_1")
    assert (run.status, run.updated_at, run.finished_at) == ("cancelled", T0 + 5, T0 + 5)
    assert [(s.status, s.due_at) for s in run.steps] == [("cancelled", None)] * 2
    assert await store.seconds_until_due("wfr_1") is None
    at(db_clock, T0 + LONG_AFTER)
    assert [c.run_id for c in await store.claim_due(lease_seconds=30, limit=10)] == ["wfr_other"]


async def test_a_cancel_keeps_finished_steps_and_stops_a_waiting_retry(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of(steps=("a", "b")))
    first = await claim(store)
    await store.finish_attempt(first, ended(first, Decision.SUCCEEDED))
    retrying = await claim(store)
    await store.finish_attempt(retrying, ended(retrying, Decision.RETRY))
    await store.cancel("wfr_1")
    run = await store.get_run("wfr_1")
    assert [(s.step_id, s.status) for s in run.steps] == [("a", "succeeded"), ("b", "cancelled")]
    assert run.steps[0].output == {"status": 200}
    assert [a.status for a in run.steps[1].attempts] == ["failed"]
    at(db_clock, T0 + LONG_AFTER)
    assert await store.claim_due(lease_seconds=30, limit=10) == []


async def test_the_worker_holding_a_cancelled_runs_step_loses_its_lease(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of(steps=("a", "b")))
    held = await claim(store)
    at(db_clock, T0 + 5)
    await store.cancel("wfr_1")
    at(db_clock, T0 + 6)
    with pytest.raises(LeaseLostError):
        await store.finish_attempt(held, ended(held, Decision.SUCCEEDED))
    run = await store.get_run("wfr_1")
    assert run.status == "cancelled"
    (sent,) = run.steps[0].attempts
    assert (sent.status, sent.ended_at, sent.http_status) == ("interrupted", T0 + 5, None)
    assert run.steps[0].output is None
    assert await store.outputs("wfr_1") == {}
    at(db_clock, T0 + LONG_AFTER)
    assert await store.claim_due(lease_seconds=30, limit=10) == []


@pytest.mark.parametrize("ending", ["completed", "failed", "cancelled"])
async def test_a_finished_run_cannot_be_cancelled_and_is_left_as_it_was(
    contract_store: Store, db_clock: ManualClock, ending: str
) -> None:
    store = contract_store
    await store.create_run(run_of(steps=("a", "b")))
    if ending == "cancelled":
        await store.cancel("wfr_1")
    else:
        for _ in range(2 if ending == "completed" else 1):
            claimed = await claim(store)
            decision = Decision.SUCCEEDED if ending == "completed" else Decision.ERRORED_FAIL
            await store.finish_attempt(claimed, ended(claimed, decision))
    before = await store.get_run("wfr_1")
    assert before.status == ending
    at(db_clock, T0 + 10)
    with pytest.raises(RunStateError, match=f"run wfr_1 is {ending}"):
        await store.cancel("wfr_1")
    assert await store.get_run("wfr_1") == before


async def test_an_unknown_run_cannot_be_cancelled(contract_store: Store) -> None:
    with pytest.raises(UnknownRunError, match="no run wfr_unknown"):
        await contract_store.cancel("wfr_unknown")
