"""A step run held back by delivery control (`Store.defer`): no attempt used, fenced, shown.

Contract tests: each runs on SQLite, PostgreSQL and in memory (`contract_store`),
whose clock, the database's, is `db_clock`.
"""

from __future__ import annotations

import pytest

from callout.engine.report import step_report
from callout.model.clock import ManualClock
from callout.model.delivery import Deferral
from callout.model.records import Decision
from callout.store import LeaseLostError, Store
from callout.store.service import ServiceStore
from integration.durable.contract_runs import LONG_AFTER, T0, at, claim, ended, run_of

HOST = "api.example.com"
SLOT = f"waiting for a slot: at most 5 requests in flight to {HOST}"


def held(delay: float = 5, reason: str = SLOT) -> Deferral:
    return Deferral(host=HOST, delay=delay, reason=reason, kind="in_flight")


async def test_a_deferred_step_run_waits_without_an_attempt_and_says_why(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    first = await claim(store)
    at(db_clock, T0 + 1)
    await store.defer(first, held(5))
    run = await store.get_run("wfr_1")
    assert run.status == "pending"  # nothing of it was sent
    [step] = run.steps
    assert (step.status, step.due_at, step.attempts) == ("pending", T0 + 6, ())
    assert step.wait_reason == SLOT
    assert step_report(step)["wait_reason"] == SLOT
    at(db_clock, T0 + 5.9)
    assert await store.claim_due(lease_seconds=30, limit=10) == []
    at(db_clock, T0 + 6)
    again = await claim(store)
    assert (again.next_number, again.attempts_made) == (1, 0)  # the deferral used no attempt
    await store.finish_attempt(again, ended(again, Decision.SUCCEEDED))
    [step] = (await store.get_run("wfr_1")).steps
    assert step.wait_reason is None  # cleared by the result
    assert "wait_reason" not in step_report(step)
    assert [attempt.number for attempt in step.attempts] == [1]


async def test_the_run_view_shows_why_a_step_run_waits(
    contract_store: ServiceStore, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    await store.defer(await claim(store), held(5, "api.example.com is paused"))
    view = await store.run_reading.run_view("wfr_1")
    assert view.run.steps[0].wait_reason == "api.example.com is paused"


async def test_a_deferral_after_the_lease_was_taken_over_is_refused_and_changes_nothing(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    stalled = await claim(store)
    at(db_clock, T0 + LONG_AFTER)
    current = await claim(store)
    with pytest.raises(LeaseLostError):
        await store.defer(stalled, held())
    run = await store.get_run("wfr_1")
    [step] = run.steps
    assert (run.status, step.status, step.wait_reason) == ("running", "running", None)
    assert [(a.number, a.status) for a in step.attempts] == [(1, "interrupted"), (2, "sending")]
    await store.finish_attempt(current, ended(current, Decision.SUCCEEDED))  # the owner's lease
    assert (await store.get_run("wfr_1")).status == "completed"


async def test_attempt_numbers_stay_gapless_after_an_interruption_and_a_deferral(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    await claim(store)  # its worker dies
    at(db_clock, T0 + LONG_AFTER)
    taken_over = await claim(store)
    assert taken_over.next_number == 2
    await store.defer(taken_over, held(5))
    run = await store.get_run("wfr_1")
    assert run.status == "running"  # an attempt was sent (and interrupted)
    at(db_clock, T0 + LONG_AFTER + 5)
    again = await claim(store)
    assert again.next_number == 2  # the deferred attempt left no gap
    await store.finish_attempt(again, ended(again, Decision.SUCCEEDED))
    [step] = (await store.get_run("wfr_1")).steps
    assert [(a.number, a.status) for a in step.attempts] == [
        (1, "interrupted"),
        (2, "succeeded"),
    ]


async def test_a_run_that_sent_an_earlier_step_stays_running_when_a_later_one_waits(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of(steps=("a", "b")))
    first = await claim(store)
    await store.finish_attempt(first, ended(first, Decision.SUCCEEDED))
    second = await claim(store)
    await store.defer(second, held(0.5))
    run = await store.get_run("wfr_1")
    assert (run.status, run.steps[1].status, run.steps[1].attempts) == ("running", "pending", ())
    assert await store.seconds_until_due("wfr_1") == 0.5


async def test_a_retry_held_back_keeps_its_attempts_and_waits_pending(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(run_of())
    first = await claim(store)
    await store.finish_attempt(first, ended(first, Decision.RETRY, retry_delay=10))
    at(db_clock, T0 + 10)
    retry = await claim(store)
    await store.defer(retry, held(3))
    [step] = (await store.get_run("wfr_1")).steps
    assert (step.status, step.due_at) == ("pending", T0 + 13)
    assert [(a.number, a.status) for a in step.attempts] == [(1, "failed")]
    at(db_clock, T0 + 13)
    assert (await claim(store)).next_number == 2
