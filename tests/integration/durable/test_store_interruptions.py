"""Store contract: attempts whose worker died are interrupted, counted, and fenced off.

On SQLite, PostgreSQL and in memory (`contract_store`); `db_clock` is the database's clock.
"""

from __future__ import annotations

import pytest

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import LeaseLostError, Store
from integration.durable.contract_runs import LONG_AFTER, claim, ended, run_of


async def test_interruptions_add_up_and_use_no_retry(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    for died in range(2):
        claimed = await claim(store)
        assert (claimed.interruptions, claimed.attempts_made) == (died, 0)
        db_clock.advance(LONG_AFTER)
    third = await claim(store)
    assert (third.interruptions, third.attempts_made, third.next_number) == (2, 0, 3)
    await store.finish_attempt(third, ended(third, Decision.RETRY, retry_delay=5))
    db_clock.advance(5)
    fourth = await claim(store)
    # A failed attempt uses a retry; the interrupted ones did not, and stay counted.
    assert (fourth.interruptions, fourth.attempts_made, fourth.next_number) == (2, 1, 4)
    await store.finish_attempt(fourth, ended(fourth, Decision.SUCCEEDED))
    run = await store.get_run("wfr_1")
    (step,) = run.steps
    assert step.interruptions == 2
    assert [(a.number, a.status) for a in step.attempts] == [
        (1, "interrupted"),
        (2, "interrupted"),
        (3, "failed"),
        (4, "succeeded"),
    ]
    assert run.status == "completed"


async def test_every_worker_that_lost_the_lease_is_fenced_off(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    first = await claim(store)
    db_clock.advance(LONG_AFTER)
    second = await claim(store)
    db_clock.advance(LONG_AFTER)
    owner = await claim(store)
    assert len({first.lease_token, second.lease_token, owner.lease_token}) == 3
    for stale in (first, second):
        with pytest.raises(LeaseLostError):
            await store.finish_attempt(stale, ended(stale, Decision.SUCCEEDED))
    await store.finish_attempt(owner, ended(owner, Decision.SUCCEEDED))
    with pytest.raises(LeaseLostError):  # a finished step run takes no second result
        await store.finish_attempt(owner, ended(owner, Decision.SUCCEEDED))
    (step,) = (await store.get_run("wfr_1")).steps
    assert [a.status for a in step.attempts] == ["interrupted", "interrupted", "succeeded"]
    assert step.output == {"status": 200}


async def test_a_resumed_step_run_starts_with_no_interruptions(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    await claim(store)
    db_clock.advance(LONG_AFTER)
    failing = await claim(store)
    await store.finish_attempt(failing, ended(failing, Decision.ERRORED_FAIL))
    await store.resume("wfr_1", step_run_id="stp_resumed")
    resumed = await claim(store)
    assert (resumed.step_run_id, resumed.interruptions, resumed.attempts_made) == (
        "stp_resumed",
        0,
        0,
    )
    assert resumed.next_number == 1
