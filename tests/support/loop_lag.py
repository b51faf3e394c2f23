"""A loop-lag probe: how long `/healthz` takes to answer while something else runs.

The probe asks `GET <base>/healthz` every ~20 ms from its own thread, with its own
HTTP client, so a server whose event loop is held cannot hide it: the request in
flight simply takes as long as the loop is held, and that latency is recorded.
It works against a `callout serve` subprocess and against an app served
in-process by uvicorn on the test's own loop (see `support.in_process_servers`);
for the latter use `async with`, so that waiting for the probe never blocks the
loop it measures.

    async with loop_lag_probe(f"http://127.0.0.1:{port}") as probe:
        ...  # the hostile request
    probe.assert_worst_below(0.1)
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from dataclasses import dataclass
from traceback import format_stack
from types import TracebackType
from typing import Self

import httpx

INTERVAL = 0.02
"""Seconds between the end of one sample and the start of the next."""

REQUEST_TIMEOUT = 120.0
"""A held loop is measured, not cut short: a request waits this long before it is an error."""

STACK_AFTER = 0.05
"""A request in flight this long has the watched thread's stack taken once, to show
what held the loop when an assertion fails (in-process servers only)."""

MIN_SAMPLES = 3
"""Stopping waits for this many answers after the warm-up, so a quick case is measured too."""

FIRST_SAMPLE_TIMEOUT = 10.0
"""How long `async with` waits for the first answer before it fails."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One `/healthz` request: when it started (perf_counter), how long it took, its status."""

    started: float
    latency: float
    status: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A `/healthz` request that got no answer: when it started, how long it tried, why."""

    started: float
    elapsed: float
    reason: str


class LoopLagProbe:
    """Request `<base>/healthz` every ~20 ms on a thread and record each latency."""

    def __init__(
        self,
        base_url: str,
        *,
        path: str = "/healthz",
        interval: float = INTERVAL,
        first_sample_timeout: float = FIRST_SAMPLE_TIMEOUT,
    ) -> None:
        self.url = base_url.rstrip("/") + path
        self.interval = interval
        self.first_sample_timeout = first_sample_timeout
        self.samples: list[Sample] = []
        self.failures: list[Failure] = []
        self.warmup: Sample | None = None
        self.startup_failures: list[Failure] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-lag-probe", daemon=True)
        self._watcher = threading.Thread(target=self._watch, name="loop-lag-stacks", daemon=True)
        self._watched: int | None = None
        self._in_flight_since: float | None = None
        self.held_stacks: list[str] = []

    # -- what a test reads ------------------------------------------------------------

    @property
    def count(self) -> int:
        """How many requests were answered after the warm-up."""
        with self._lock:
            return len(self.samples)

    @property
    def worst(self) -> float:
        """The longest latency seen in seconds, failures included; fails if nothing answered."""
        with self._lock:
            if not self.samples:
                raise AssertionError(self._no_samples())
            latencies = [sample.latency for sample in self.samples]
            latencies += [failure.elapsed for failure in self.failures]
        return max(latencies)

    def worst_between(self, start: float, end: float) -> float:
        """The longest latency of requests in flight at any time in [start, end] (perf_counter)."""
        with self._lock:
            during = [
                sample.latency
                for sample in self.samples
                if sample.started <= end and sample.started + sample.latency >= start
            ]
        if not during:
            raise AssertionError(f"no /healthz answer overlapped the window ({self.summary()})")
        return max(during)

    def summary(self) -> str:
        """Samples, worst, median and failures in one line, for assertion messages."""
        with self._lock:
            latencies = sorted(sample.latency for sample in self.samples)
            failures = list(self.failures)
        if not latencies:
            return f"no samples; {len(failures)} failures: {failures[:3]}"
        median = latencies[len(latencies) // 2]
        return (
            f"{len(latencies)} samples from {self.url}, worst {latencies[-1] * 1000:.0f} ms, "
            f"median {median * 1000:.1f} ms, {len(failures)} failures {failures[:3]}"
            + "".join(
                f"\nthe loop thread while a request waited:\n{held}"
                for held in self.held_stacks[:3]
            )
        )

    def assert_worst_below(self, limit: float) -> None:
        """Fail unless every request was answered 200 and the worst latency is under `limit` s."""
        with self._lock:
            if not self.samples:
                raise AssertionError(self._no_samples())
            failures = list(self.failures)
            bad = [sample for sample in self.samples if sample.status != 200]
        assert not failures, f"/healthz failed while probed: {self.summary()}"
        assert not bad, f"/healthz answered other than 200: {bad[:3]}"
        worst = self.worst
        assert worst < limit, (
            f"/healthz took {worst * 1000:.0f} ms (limit {limit * 1000:.0f} ms): {self.summary()}"
        )

    # -- starting and stopping ----------------------------------------------------------

    def start(self, watched: int | None = None) -> None:
        """Start asking on the probe's own thread; `watched`: a thread whose stack to take."""
        self._watched = watched
        self._thread.start()
        if watched is not None:
            self._watcher.start()

    def stop(self, timeout: float = REQUEST_TIMEOUT + 5) -> None:
        """Stop asking, wait for the request in flight; fail loudly if nothing was answered.

        This blocks the calling thread until the request in flight ends: from a
        coroutine whose loop serves `/healthz`, use `await astop()` instead.
        """
        self._stop.set()
        self._thread.join(timeout)
        if self._watcher.is_alive():
            self._watcher.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the probe's request to {self.url} never ended")
        if not self.samples:
            raise AssertionError(self._no_samples())

    async def astop(self) -> None:
        """Stop asking without blocking this event loop (it may be the one being probed)."""
        for _ in range(int(self.first_sample_timeout / self.interval)):
            if self.count >= MIN_SAMPLES or not self._thread.is_alive():
                break
            await asyncio.sleep(self.interval)
        await asyncio.to_thread(self.stop)

    async def wait_first_sample(self) -> None:
        """Wait (without blocking this loop) until `/healthz` has answered once."""
        answered = await asyncio.to_thread(self._first.wait, self.first_sample_timeout)
        if not answered:
            self._stop.set()
            raise AssertionError(self._no_samples())

    def wait_first_sample_blocking(self) -> None:
        """Wait until `/healthz` has answered once (the server must run elsewhere)."""
        if not self._first.wait(self.first_sample_timeout):
            self._stop.set()
            raise AssertionError(self._no_samples())

    def __enter__(self) -> Self:
        self.start()
        self.wait_first_sample_blocking()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._thread.is_alive():
            deadline = time.perf_counter() + self.first_sample_timeout
            while self.count < MIN_SAMPLES and time.perf_counter() < deadline:
                time.sleep(self.interval)
        self.stop()

    async def __aenter__(self) -> Self:
        # The test process holds every app and model earlier tests built: a full garbage
        # collection of that heap pauses the loop 100+ ms on a loaded machine, which says
        # nothing about the service. Collect now and freeze what is left until the exit.
        gc.collect()
        gc.freeze()
        # This thread runs the loop that serves /healthz (an in-process server).
        self.start(watched=threading.get_ident())
        await self.wait_first_sample()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.astop()
        finally:
            gc.unfreeze()

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        # One keep-alive connection: what is measured is the server's loop, not TCP setup.
        # The first answer is a warm-up (connection, first-request work) and is kept
        # apart, as are refusals before it (a server still starting).
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                self._in_flight_since = started
                try:
                    response = client.get(self.url)
                except httpx.HTTPError as error:
                    failure = Failure(started, time.perf_counter() - started, repr(error))
                    with self._lock:
                        (self.failures if self._first.is_set() else self.startup_failures).append(
                            failure
                        )
                else:
                    sample = Sample(started, time.perf_counter() - started, response.status_code)
                    if self._first.is_set():
                        with self._lock:
                            self.samples.append(sample)
                    else:
                        self.warmup = sample
                        self._first.set()
                self._in_flight_since = None
                self._stop.wait(self.interval)

    def _watch(self) -> None:
        # Only after the warm-up, once per slow request.
        taken_for: float | None = None
        while not self._stop.wait(0.01):
            since = self._in_flight_since
            if since is None or since == taken_for or not self._first.is_set():
                continue
            if time.perf_counter() - since > STACK_AFTER and self._watched is not None:
                frame = sys._current_frames().get(self._watched)
                if frame is not None:
                    self.held_stacks.append("".join(format_stack(frame)[-12:]))
                taken_for = since

    def _no_samples(self) -> str:
        failures = self.startup_failures + self.failures
        return (
            f"the loop-lag probe got no answer from {self.url} after its warm-up "
            f"({self.warmup}): {len(failures)} failures {failures[:3]}"
        )


def loop_lag_probe(
    base_url: str, *, interval: float = INTERVAL, first_sample_timeout: float = FIRST_SAMPLE_TIMEOUT
) -> LoopLagProbe:
    """A probe of `<base_url>/healthz`; use it with `with` (another process) or `async with`.

    Both forms wait for a first answer on entry and fail loudly if there is none.
    """
    return LoopLagProbe(base_url, interval=interval, first_sample_timeout=first_sample_timeout)
