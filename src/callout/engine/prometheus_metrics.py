"""The worker's numbers in Prometheus's client: runs, attempts, latency, slots, deferrals, errors.

Labels stay bounded: no run id, no URL, no error message. An attempt's host is
a label only when the operator asks (`--metrics-host-labels`), and then at most
`MAX_HOSTS` hosts per process are named, the rest counted as `other` (a URL
may be built from a trigger's payload: its host is the tenant's to choose).

In `callout serve`'s worker child the client writes its numbers to files in a
directory `serve` reads them from (its multiprocess mode, chosen by
`PROMETHEUS_MULTIPROC_DIR` before the client is loaded); elsewhere they live
in this process's registry (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from callout.engine.metrics import RecordedAttempt, StoreErrorKind, starts_run
from callout.model.delivery import DeferralKind
from callout.model.records import Decision
from callout.store.protocol import Claim

MAX_HOSTS = 100
"""Most distinct hosts one process names in its labels; later ones are `other`."""

MAX_ERROR_TYPES = 50
"""Most distinct error types one process names (they are callout's own words, a few dozen)."""

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "none")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: an attempt takes from a few milliseconds to its timeout (docs/limits.md)."""


def status_class(status: int | None) -> str:
    """Return `2xx` .. `5xx` for a response's status, `none` without one (or outside 200-599)."""
    if status is None or not 200 <= status <= 599:
        return "none"
    return f"{status // 100}xx"


class BoundedLabel:
    """Names the first `limit` values it sees; every later new value is `other`."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        """Return `value` if it is (or may become) one of the named, else `other`."""
        if value in self._seen:
            return value
        if len(self._seen) < self._limit:
            self._seen.add(value)
            return value
        return "other"


def host_of(url: str | None) -> str:
    """Return a URL's host, lower case, or `none` (no request was built)."""
    if not url:
        return "none"
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return "none"
    return host or "none"


class PrometheusEngineMetrics:
    """`EngineMetrics` counted with prometheus_client.

    `registry`: where the numbers are registered (None: nowhere, as in the
    multiprocess mode, where the files are what is read).
    """

    def __init__(self, registry: CollectorRegistry | None, *, host_labels: bool = False) -> None:
        self._host_labels = host_labels
        # Children by label values, kept here: `labels()` costs a lock and a few us a call,
        # and under serve each number is a write to a memory-mapped file as well.
        self._attempt_counts: dict[tuple[str, ...], Counter] = {}
        self._slots_in_use: int | None = None
        self._slots_total: int | None = None
        self._hosts = BoundedLabel(MAX_HOSTS)
        self._error_types = BoundedLabel(MAX_ERROR_TYPES)
        by_host = ("host",) if host_labels else ()
        self.runs_started = Counter(
            "callout_runs_started",
            "Runs whose first attempt a worker claimed.",
            registry=registry,
        )
        self.runs_finished = Counter(
            "callout_runs_finished",
            "Runs that ended, by how (completed or failed), counted by the worker that ended them.",
            ("status",),
            registry=registry,
        )
        self.attempts = Counter(
            "callout_attempts",
            "Attempts recorded, by what they decided for their step and their status class.",
            ("outcome", "status_class", *by_host),
            registry=registry,
        )
        self.attempt_errors = Counter(
            "callout_attempt_errors",
            "Attempts that failed, by error type (timeout, connection, status, ...).",
            ("type",),
            registry=registry,
        )
        self.attempt_seconds = Histogram(
            "callout_attempt_duration_seconds",
            "Time an attempt's action took: resolve, sign, send, read the response.",
            by_host,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.slots_in_use = Gauge(
            "callout_worker_slots_in_use",
            "Attempts in flight in the worker (live workers summed).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.slots_total = Gauge(
            "callout_worker_slots",
            "Attempts the worker may have in flight at once (live workers summed).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.store_errors = Counter(
            "callout_store_errors",
            "Store errors the worker rode out: unavailable (each failed try) or "
            "lease_lost (a result refused: another worker took the step over).",
            ("error",),
            registry=registry,
        )
        self.deferrals = Counter(
            "callout_deferrals",
            "Attempts held back by delivery control before sending, by the rule that held "
            "them: in_flight (a host's limit full), rate (its rate used up), breaker (paused).",
            ("kind",),
            registry=registry,
        )
        self.crashes = Counter(
            "callout_worker_unexpected_errors",
            "Executions that raised something unexpected (see the worker's log).",
            registry=registry,
        )
        # Series that exist from the start read 0 rather than nothing (rate() needs both ends).
        self._runs_ended = {
            status: self.runs_finished.labels(status) for status in ("completed", "failed")
        }
        for error in ("unavailable", "lease_lost"):
            self.store_errors.labels(error)
        self._deferrals = {kind: self.deferrals.labels(kind) for kind in get_args(DeferralKind)}
        if not host_labels:
            for decision in Decision:
                for status_name in STATUS_CLASSES:
                    self.attempts.labels(decision.value, status_name)

    def claimed(self, claims: Sequence[Claim]) -> None:
        """Count the runs these claims start."""
        started = sum(1 for claim in claims if starts_run(claim))
        if started:
            self.runs_started.inc(started)

    def slots(self, *, in_use: int, total: int) -> None:
        """Set the slots in use and in all, each only when it changes.

        An attempt reports its slot twice (answered, then finished) with the same count
        between: under `serve` each set is a write to a memory-mapped file.
        """
        if in_use != self._slots_in_use:
            self._slots_in_use = in_use
            self.slots_in_use.set(in_use)
        if total != self._slots_total:
            self._slots_total = total
            self.slots_total.set(total)

    def attempt_recorded(self, attempt: RecordedAttempt) -> None:
        """Count the attempt, its error type, its time, and the run it ended."""
        labels: tuple[str, ...] = (attempt.decision.value, status_class(attempt.http_status))
        if self._host_labels:
            host = self._hosts(host_of(attempt.url))
            labels = (*labels, host)
            if attempt.seconds is not None:
                self.attempt_seconds.labels(host).observe(attempt.seconds)
        elif attempt.seconds is not None:
            self.attempt_seconds.observe(attempt.seconds)
        counted = self._attempt_counts.get(labels)
        if counted is None:
            counted = self._attempt_counts[labels] = self.attempts.labels(*labels)
        counted.inc()
        if attempt.error_type is not None:
            self.attempt_errors.labels(self._error_types(attempt.error_type)).inc()
        if attempt.run_end is not None:
            self._runs_ended[attempt.run_end].inc()

    def store_error(self, kind: StoreErrorKind) -> None:
        """Count a store error the worker rode out."""
        self.store_errors.labels(kind).inc()

    def deferred(self, kind: DeferralKind) -> None:
        """Count an attempt delivery control held back."""
        self._deferrals[kind].inc()

    def execution_crashed(self) -> None:
        """Count an execution that raised."""
        self.crashes.inc()
