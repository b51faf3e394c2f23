"""One `/metrics` page: a registry's numbers, and what is read from the store when scraped.

The due backlog and the paused hosts are read when scraped, not kept up to
date by anyone: at most once every `BACKLOG_EVERY` seconds (scrapers that come
sooner get the last reading), and scrapes arriving together share one read.
Each read is bounded (`store/due_backlog.py`; paused hosts are few, their rows
indexed). While the store cannot be read, the gauges have no sample: no number
is better than a stale one that looks fresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from callout.engine.prometheus_metrics import MAX_HOSTS, BoundedLabel
from callout.model.errors import StoreError
from callout.store.delivery import BreakerState, HostState

log = logging.getLogger("callout.metrics")

BACKLOG_EVERY = 5.0
"""Seconds a backlog reading is reused before the store is asked again."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text format (0.0.4), which every Prometheus and agent reads."""

BacklogRead = Callable[[], Awaitable[tuple[int, float | None]]]
"""Reads (due step runs up to the cap, seconds the oldest has been due or None)."""

PausedHostsRead = Callable[[], Awaitable[Sequence[HostState]]]
"""Reads the hosts of every organization whose breaker is open or half open."""

T = TypeVar("T")


class _ReadWhenScraped(Generic[T]):
    """A reading taken from the store by `refresh`, at most once every `every` seconds."""

    what = "a reading"

    def __init__(self, read: Callable[[], Awaitable[T]], *, every: float = BACKLOG_EVERY) -> None:
        self._read = read
        self._every = every
        self._reading: T | None = None
        self._read_at: float | None = None
        self._pending: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """Read again if the last reading is older than `every` seconds."""
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
            log.warning("%s could not be read for /metrics: %s", self.what, exc)
        self._read_at = time.monotonic()


class DueBacklogCollector(_ReadWhenScraped[tuple[int, float | None]]):
    """The due backlog as two gauges, from the last reading `refresh` took."""

    what = "the due backlog"

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


class PausedHostsCollector(_ReadWhenScraped[Sequence[HostState]]):
    """Hosts paused by their circuit breaker, from the last reading `refresh` took.

    `host_labels`: also one series per paused host and breaker state, the value
    being how many organizations have that host in that state (at most
    `MAX_HOSTS` hosts named, the rest `other`: hosts come from tenants' URLs).
    """

    what = "the paused hosts"

    def __init__(
        self, read: PausedHostsRead, *, every: float = BACKLOG_EVERY, host_labels: bool = False
    ) -> None:
        super().__init__(read, every=every)
        self._host_labels = host_labels
        self._hosts = BoundedLabel(MAX_HOSTS)

    def collect(self) -> Iterator[Metric]:
        """Yield the paused-hosts gauge (and, opted in, the per-host one); no sample unread."""
        paused = GaugeMetricFamily(
            "callout_paused_hosts",
            "Hosts whose circuit breaker is open or half open, counted once per organization.",
        )
        if self._reading is not None:
            paused.add_metric([], len(self._reading))
        yield paused
        if not self._host_labels:
            return
        by_host = GaugeMetricFamily(
            "callout_host_breaker",
            "Organizations whose circuit breaker for the host is open or half open, by state.",
            labels=("host", "state"),
        )
        if self._reading is not None:
            counted = Counter(
                (self._hosts(state.host), state.breaker.value)
                for state in self._reading
                if state.breaker is not BreakerState.CLOSED
            )
            for (host, state_name), count in sorted(counted.items()):
                by_host.add_metric([host, state_name], count)
        yield by_host


class MetricsPage:
    """What `/metrics` answers: `registry`'s numbers, the store's readings refreshed first."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        token: str | None = None,
        backlog: DueBacklogCollector | None = None,
        paused_hosts: PausedHostsCollector | None = None,
    ) -> None:
        self.registry = registry
        self.token = token
        self._readings: list[DueBacklogCollector | PausedHostsCollector] = [
            reading for reading in (backlog, paused_hosts) if reading is not None
        ]
        for reading in self._readings:
            registry.register(reading)

    async def render(self) -> bytes:
        """Return the page in Prometheus's text format (see `CONTENT_TYPE`)."""
        if self._readings:
            await asyncio.gather(*(reading.refresh() for reading in self._readings))
        # Off the event loop: reading the worker's files and formatting take a few ms.
        return await asyncio.to_thread(generate_latest, self.registry)
