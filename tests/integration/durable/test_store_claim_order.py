"""Store contract: claims take the earliest due step runs first, by the store's clock.

On SQLite, PostgreSQL and in memory (`contract_store`); `db_clock` is the database's clock.
"""

from __future__ import annotations

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import Claim, FinishedAttempt, NewRun, Store

T0 = 1_800_000_000.0  # where `db_clock` starts


def at(clock: ManualClock, moment: float) -> None:
    clock.advance(moment - clock.now())


def one_step_run(run_id: str) -> NewRun:
    return NewRun(
        id=run_id,
        workflow_name="test",
        document={"name": "test"},
        trigger={},
        step_ids=("a",),
        step_run_ids=(f"stp_{run_id}",),
    )


async def claim_of(store: Store, run_id: str) -> Claim:
    (claimed,) = await store.claim_due(lease_seconds=30, limit=10, run_id=run_id)
    return claimed


async def retry_in(store: Store, claimed: Claim, seconds: float) -> None:
    await store.finish_attempt(
        claimed,
        FinishedAttempt(
            attempt_id=claimed.attempt_id,
            succeeded=False,
            decision=Decision.RETRY,
            error={"type": "http_status", "message": "503"},
            retry_delay=seconds,
        ),
    )


async def claimed_one_by_one(store: Store) -> list[str]:
    order = []
    while claims := await store.claim_due(lease_seconds=30, limit=1):
        order.append(claims[0].run_id)
    return order


async def test_claims_take_the_earliest_due_step_runs_first(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    # Created first, due last: its retry waits 100 s.
    await store.create_run(one_step_run("wfr_retry_late"))
    await retry_in(store, await claim_of(store, "wfr_retry_late"), 100)  # due T0 + 100
    at(db_clock, T0 + 20)
    await store.create_run(one_step_run("wfr_new"))  # due T0 + 20
    at(db_clock, T0 + 30)
    await store.create_run(one_step_run("wfr_retry_soon"))
    await retry_in(store, await claim_of(store, "wfr_retry_soon"), 10)  # due T0 + 40
    at(db_clock, T0 + 60)
    await store.create_run(one_step_run("wfr_stalled"))
    await claim_of(store, "wfr_stalled")  # its worker dies: the lease ends at T0 + 120
    assert await store.seconds_until_due() == 0

    at(db_clock, T0 + 500)
    assert await claimed_one_by_one(store) == [
        "wfr_new",
        "wfr_retry_soon",
        "wfr_retry_late",
        "wfr_stalled",
    ]


async def test_seconds_until_due_is_the_earliest_due_time_overall_or_of_one_run(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    assert await store.seconds_until_due() is None
    for run_id, delay in (("wfr_a", 90), ("wfr_b", 30)):
        await store.create_run(one_step_run(run_id))
        await retry_in(store, await claim_of(store, run_id), delay)
    at(db_clock, T0 + 10)
    assert await store.seconds_until_due() == 20
    assert await store.seconds_until_due("wfr_a") == 80
    assert await store.seconds_until_due("wfr_nothing") is None
    at(db_clock, T0 + 31)
    assert await store.seconds_until_due() == 0  # overdue is due now, never negative


async def test_a_claim_for_one_run_takes_nothing_of_another(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(one_step_run("wfr_mine"))
    at(db_clock, T0 + 1)
    await store.create_run(one_step_run("wfr_other"))  # due too, and left alone
    claims = await store.claim_due(lease_seconds=30, limit=10, run_id="wfr_other")
    assert [c.run_id for c in claims] == ["wfr_other"]
    assert [c.run_id for c in await store.claim_due(lease_seconds=30, limit=10)] == ["wfr_mine"]
