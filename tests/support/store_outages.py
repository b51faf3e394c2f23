"""The in-memory store with a database outage on demand: chosen operations fail for a while."""

from __future__ import annotations

from collections import Counter
from typing import Any

from callout.model.clock import Clock
from callout.store.memory import MemoryStore
from callout.store.protocol import Claim, FinishedAttempt, RunInput, StoreUnavailable


class MemoryStoreWithOutages(MemoryStore):
    """A `MemoryStore` whose next `fail[name]` calls of an operation raise `StoreUnavailable`.

    A failed call changes nothing (as a statement that never reached the database);
    `calls` counts every call by operation name, failed or not.
    """

    def __init__(self, *, clock: Clock, fail: dict[str, int] | None = None) -> None:
        super().__init__(clock=clock)
        self.fail: Counter[str] = Counter(fail or {})
        self.calls: Counter[str] = Counter()

    def _reach(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.fail[operation] > 0:
            self.fail[operation] -= 1
            raise StoreUnavailable(f"the database is unavailable: {operation} (test outage)")

    async def claim_due(
        self, *, lease_seconds: float, limit: int, run_id: str | None = None
    ) -> list[Claim]:
        """Lease due step runs, unless the store is out."""
        self._reach("claim_due")
        return await super().claim_due(lease_seconds=lease_seconds, limit=limit, run_id=run_id)

    async def run_input(self, run_id: str) -> RunInput:
        """Return what the run executes with, unless the store is out."""
        self._reach("run_input")
        return await super().run_input(run_id)

    async def outputs(
        self, run_id: str, *, step_ids: frozenset[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Return earlier steps' outputs, unless the store is out."""
        self._reach("outputs")
        return await super().outputs(run_id, step_ids=step_ids)

    async def finish_attempt(self, claim: Claim, finished: FinishedAttempt) -> None:
        """Record an attempt's end, unless the store is out."""
        self._reach("finish_attempt")
        await super().finish_attempt(claim, finished)

    async def seconds_until_due(self, run_id: str | None = None) -> float | None:
        """Return how long until something is due, unless the store is out."""
        self._reach("seconds_until_due")
        return await super().seconds_until_due(run_id)
