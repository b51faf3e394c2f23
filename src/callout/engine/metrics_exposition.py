"""One `/metrics` page: a registry's numbers, and the due backlog read from the store when scraped.

The backlog is read when scraped, not kept up to date by anyone: at most once
every `BACKLOG_EVERY` seconds (scrapers that come sooner get the last reading),
and scrapes arriving together share one read. The read is bounded by a cap
(`store/due_backlog.py`). While the store cannot be read, the backlog has no
sample: no number is better than a stale one that looks fresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from callout.model.errors import StoreError

log = logging.getLogger("callout.metrics")

BACKLOG_EVERY = 5.0
"""Seconds a backlog reading is reused before the store is asked again."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text format (0.0.4), which every Prometheus and agent reads."""

BacklogRead = Callable[[], Awaitable[tuple[int, float | None]]]
"""Reads (due step runs up to the cap, seconds the oldest has been due or None)."""


class DueBacklogCollector:
    """The due backlog as two gauges, from the last reading `refresh` took."""

    def __init__(self, read: BacklogRead, *, every: float = BACKLOG_EVERY) -> None:
        self._read = read
        self._every = every
        self._reading: tuple[int, float | None] | None = None
        self._read_at: float | None = None
        self._pending: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """Read the backlog if the last reading is older than `every` seconds."""
        if self._read_at is not None and time.monotonic() - self._read_at < self._every:
            return
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._take_reading())
        # Shielded: a scraper that gives up does not cancel the others' reading.
        await asyncio.shield(self._pending)

    async def _take_reading(self) -> None:
        try:
            self._reading = await self._read()
        except StoreError as exc:
            self._reading = None
            log.warning("the due backlog could not be read for /metrics: %s", exc)
        self._read_at = time.monotonic()

    def collect(self) -> Iterator[Metric]:
        """Yield the backlog gauges (without samples when the store could not be read)."""
        due = GaugeMetricFamily(
            "callout_due_step_runs",
            "Step runs due now, waiting for a worker (counted up to a cap: see docs/metrics.md).",
        )
        oldest = GaugeMetricFamily(
            "callout_oldest_due_seconds",
            "Seconds the longest-waiting due step run has been due (0 when none is).",
        )
        if self._reading is not None:
            count, waited = self._reading
            due.add_metric([], count)
            oldest.add_metric([], waited or 0.0)
        yield due
        yield oldest


class MetricsPage:
    """What `/metrics` answers: `registry`'s numbers, the backlog (if any) refreshed first."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        token: str | None = None,
        backlog: DueBacklogCollector | None = None,
    ) -> None:
        self.registry = registry
        self.token = token
        self._backlog = backlog
        if backlog is not None:
            registry.register(backlog)

    async def render(self) -> bytes:
        """Return the page in Prometheus's text format (see `CONTENT_TYPE`)."""
        if self._backlog is not None:
            await self._backlog.refresh()
        # Off the event loop: reading the worker's files and formatting take a few ms.
        return await asyncio.to_thread(generate_latest, self.registry)
