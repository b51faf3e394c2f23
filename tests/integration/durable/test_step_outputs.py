"""An attempt reads only the outputs its step references (store contract, every store)."""

from __future__ import annotations

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import FinishedAttempt, NewRun, Store

T0 = 1_800_000_000.0  # where `db_clock` starts


async def succeed_next(
    store: Store, clock: ManualClock, number: int, output: dict[str, int]
) -> None:
    """Claim the step due now, attempt it and record `output`; a second passes."""
    [claim] = await store.claim_due(lease_seconds=30, limit=10)
    assert claim.next_number == 1, number
    clock.advance(1)
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=True,
            decision=Decision.SUCCEEDED,
            output=output,
        ),
    )
    clock.advance(1)


async def test_outputs_are_filtered_by_the_step_ids_asked_for(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    db_clock.advance(T0 - db_clock.now())
    await store.create_run(
        NewRun(
            id="wfr_1",
            workflow_name="test",
            document={"name": "test"},
            trigger={},
            step_ids=("a", "b", "c"),
            step_run_ids=("stp_a", "stp_b", "stp_c"),
        )
    )
    await succeed_next(store, db_clock, 1, {"status": 201})
    await succeed_next(store, db_clock, 2, {"status": 202})

    assert await store.outputs("wfr_1") == {"a": {"status": 201}, "b": {"status": 202}}
    assert await store.outputs("wfr_1", step_ids=None) == await store.outputs("wfr_1")
    assert await store.outputs("wfr_1", step_ids=frozenset({"b"})) == {"b": {"status": 202}}
    assert await store.outputs("wfr_1", step_ids=frozenset({"a", "c"})) == {"a": {"status": 201}}
    assert await store.outputs("wfr_1", step_ids=frozenset()) == {}
    assert await store.outputs("wfr_1", step_ids=frozenset({"unknown"})) == {}
