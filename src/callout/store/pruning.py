"""One pass of pruning: every organization, every kind, batch by batch, under the prune lease.

A pass takes the prune lease first (one pruner at a time, whichever process it
runs in: the database decides), then walks each scope (every organization, then
the runs of none) and each kind (runs, trigger call records, bodies, trigger
keys), one bounded batch at a time. After each batch it waits as long as the
batch took (at least `min_pause`): a pruner holds the writer at most about half
the time, and what waited for it (a trigger's commit, a worker's result, another
process's write lock) goes first. The lease is renewed as the pass goes; a pass
that loses it stops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from callout.store.retention import (
    PruneBatch,
    PruneKind,
    RetentionRecords,
    RetentionScope,
    RunPosition,
)

DEFAULT_BATCH = 500
"""Rows one batch removes at most (runs: with their step runs and attempts)."""

MIN_PAUSE = 0.005
"""Seconds a pass waits at least between two batches."""

LEASE_SECONDS = 60.0
"""How long a pass's lease lasts unless renewed; a pruner that died is replaced after it."""


class PruneLeaseLost(Exception):
    """Another pruner took the lease over (this one stalled past it): the pass stopped."""


@dataclass(frozen=True, slots=True)
class PruneSettings:
    """How a pass goes: batch size, the least pause between batches, the lease."""

    batch: int = DEFAULT_BATCH
    min_pause: float = MIN_PAUSE
    lease: float = LEASE_SECONDS


@dataclass(slots=True)
class ScopeTotals:
    """What a pass removed of one scope."""

    org_id: str | None
    name: str
    removed: dict[PruneKind, int] = field(default_factory=lambda: dict.fromkeys(PruneKind, 0))
    attempts: int = 0


@dataclass(slots=True)
class PruneReport:
    """What a pass removed, per scope, and how long it took (seconds, batches)."""

    scopes: list[ScopeTotals] = field(default_factory=list)
    batches: int = 0
    largest_batch: int = 0
    seconds: float = 0.0
    finished: bool = False

    def total(self, kind: PruneKind) -> int:
        """Return how many rows of `kind` the pass removed in all."""
        return sum(scope.removed[kind] for scope in self.scopes)

    @property
    def attempts(self) -> int:
        """Attempts removed with their runs."""
        return sum(scope.attempts for scope in self.scopes)


@dataclass(slots=True)
class _Pass:
    records: RetentionRecords
    holder: str
    settings: PruneSettings
    stopping: Callable[[], bool]
    report: PruneReport = field(default_factory=PruneReport)
    renewed_at: float = field(default_factory=time.monotonic)

    async def run(self) -> None:
        for scope in await self.records.scopes():
            totals = ScopeTotals(scope.org_id, scope.name)
            self.report.scopes.append(totals)
            for kind in PruneKind:
                if not await self._prune(scope, kind, totals):
                    return
        self.report.finished = True

    async def _prune(self, scope: RetentionScope, kind: PruneKind, totals: ScopeTotals) -> bool:
        """Prune one kind of one scope to its end; False when the pass must stop."""
        after: RunPosition | None = None
        while True:
            if self.stopping():
                return False
            began = time.monotonic()
            batch = await self.records.prune_batch(
                scope, kind, limit=self.settings.batch, after=after
            )
            took = time.monotonic() - began
            self._count(batch, kind, totals)
            if not batch.more:
                return True
            after = batch.last
            await self._renew()
            # The monotonic clock paces this process's own work; it decides nothing stored.
            await asyncio.sleep(max(self.settings.min_pause, took))

    def _count(self, batch: PruneBatch, kind: PruneKind, totals: ScopeTotals) -> None:
        totals.removed[kind] += batch.count
        totals.attempts += batch.attempts
        self.report.batches += 1
        self.report.largest_batch = max(self.report.largest_batch, batch.count)

    async def _renew(self) -> None:
        if time.monotonic() - self.renewed_at < self.settings.lease / 3:
            return
        if not await self.records.take_prune_lease(
            self.holder, hold_for=self.settings.lease, every=None
        ):
            raise PruneLeaseLost(f"pruner {self.holder} lost the prune lease")
        self.renewed_at = time.monotonic()


async def prune(
    records: RetentionRecords,
    *,
    holder: str,
    settings: PruneSettings | None = None,
    every: float | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> PruneReport | None:
    """Run one pass if the prune lease is given; None when it is not (another pruner, or not due).

    `every`: only if the last pass finished at least that many seconds ago (the
    worker's schedule); None: now (`callout db prune`). `stopping` is asked before
    each batch: a pass stops between batches (not finished; the next one goes on).
    """
    settings = settings or PruneSettings()
    if not await records.take_prune_lease(holder, hold_for=settings.lease, every=every):
        return None
    going = _Pass(records, holder, settings, stopping)
    began = time.monotonic()
    try:
        await going.run()
    finally:
        going.report.seconds = time.monotonic() - began
        # Shielded: a pass cancelled mid-batch still gives the lease back.
        await asyncio.shield(records.end_prune_lease(holder, finished=going.report.finished))
    return going.report
