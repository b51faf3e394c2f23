"""What the store contract tests do to runs: record one, claim it, end its attempt.

Shared by the contract tests of `tests/integration/durable/` that run on every
store (`contract_store`), whose clock, the database's, is `db_clock`.
"""

from __future__ import annotations

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import Claim, FinishedAttempt, NewRun, Store

T0 = 1_800_000_000.0
"""Where `db_clock` starts."""

LONG_AFTER = 24 * 3600.0
"""Seconds that outlast any lease and any retry here: the worker that held it is taken for dead."""


def at(clock: ManualClock, moment: float) -> None:
    """Set the database's time (the store's clock) to `moment`."""
    clock.advance(moment - clock.now())


def run_of(run_id: str = "wfr_1", steps: tuple[str, ...] = ("a",)) -> NewRun:
    """A run of no organization whose steps are `steps`; step run ids name both."""
    return NewRun(
        id=run_id,
        workflow_name="test",
        document={"name": "test"},
        trigger={},
        step_ids=steps,
        step_run_ids=tuple(f"stp_{run_id}_{step}" for step in steps),
    )


async def claim(store: Store, run_id: str | None = None) -> Claim:
    """Claim the one step run due (of `run_id` if given); fail if not exactly one."""
    (claimed,) = await store.claim_due(lease_seconds=30, limit=10, run_id=run_id)
    return claimed


def ended(claimed: Claim, decision: Decision, *, retry_delay: float = 60) -> FinishedAttempt:
    """The end of `claimed`'s attempt: succeeded (output `{"status": 200}`) or a 503."""
    failed = decision is not Decision.SUCCEEDED
    return FinishedAttempt(
        attempt_id=claimed.attempt_id,
        succeeded=not failed,
        decision=decision,
        error={"type": "http_status", "message": "503"} if failed else None,
        output=None if failed else {"status": 200},
        retry_delay=retry_delay if decision is Decision.RETRY else None,
    )
