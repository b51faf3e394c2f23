"""The worker's periodic pruning: a pass every `every` seconds, by the worker given the lease.

Every worker asks now and then (every `check` seconds, at most); the database
decides: the prune lease is given to one worker at a time, and only when the
last pass finished `every` seconds ago (`store/pruning.py`). So any number of
workers prune about once per `every` between them, and a worker that restarts
does not prune again sooner. While the database is out the task waits on the
shared backoff, like the heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping

from callout.store.outage import StoreOutage
from callout.store.protocol import StoreUnavailable
from callout.store.pruning import PruneLeaseLost, PruneReport, PruneSettings, prune
from callout.store.retention import PruneKind, RetentionRecords

log = logging.getLogger("callout.engine")

PRUNE_EVERY = 600.0
"""Seconds between two passes of pruning (shared by every worker)."""

PRUNE_CHECK = 60.0
"""Seconds between a worker's asks whether a pass is due (at most)."""

DAY_SECONDS = 86400.0


def describe(report: PruneReport) -> str:
    """Return one line saying what a pass removed."""
    return (
        f"pruned {report.total(PruneKind.RUNS)} runs ({report.attempts} attempts), "
        f"{report.total(PruneKind.TRIGGER_CALLS)} trigger calls, the bodies of "
        f"{report.total(PruneKind.BODIES)} runs and {report.total(PruneKind.TRIGGER_KEYS)} "
        f"trigger idempotency keys in {report.seconds:.1f} s ({report.batches} batches)"
    )


async def prune_periodically(  # noqa: PLR0913 - each is a distinct setting of the schedule
    records: RetentionRecords,
    holder: str,
    stop: asyncio.Event,
    *,
    outage: StoreOutage,
    every: float = PRUNE_EVERY,
    check: float = PRUNE_CHECK,
    settings: PruneSettings | None = None,
) -> None:
    """Ask for a pass every `min(every, check)` seconds until `stop` is set; prune when given."""
    waits: Iterator[float] | None = None
    while not stop.is_set():
        pause = min(every, check)
        try:
            report = await prune(
                records, holder=holder, settings=settings, every=every, stopping=stop.is_set
            )
        except StoreUnavailable as exc:
            outage.lost(exc)
            waits = waits or outage.backoff.waits()
            pause = next(waits)
        except PruneLeaseLost as exc:
            log.warning("%s; the other pruner goes on", exc)
        except Exception:  # a failed pass must not end the worker's pruning
            log.exception("a pass of pruning failed; the next one tries again")
        else:
            if waits is not None:
                waits = None
                outage.reached()
            if report is not None and any(report.total(kind) for kind in PruneKind):
                log.info("%s", describe(report))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)


PRUNE_EVERY_ENV = "CALLOUT_PRUNE_EVERY"


def prune_every_setting(environ: Mapping[str, str]) -> float:
    """Read `CALLOUT_PRUNE_EVERY` (seconds between passes; 0: this worker never prunes).

    Raises ValueError naming the setting for anything but 0 or 1 to 86400.
    """
    text = environ.get(PRUNE_EVERY_ENV, "").strip()
    if not text:
        return PRUNE_EVERY
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if seconds != 0 and not 1 <= seconds <= DAY_SECONDS:
        raise ValueError(
            f"{PRUNE_EVERY_ENV}: expected 0 (never) or seconds from 1 to {DAY_SECONDS:g}, "
            f"got {text!r}"
        )
    return seconds
