"""What the engine reports for metrics: a protocol the worker and executor call, and a no-op.

The worker and its executor report what happened (claims, slots in use, each
attempt recorded, each deferred, store errors); an implementation turns it into numbers
(`prometheus_metrics.py`). This module does not load the metrics library: the
engine runs, and is tested, without it, and `callout serve` chooses how its
worker child stores numbers before the library is loaded (docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from callout.model.delivery import DeferralKind
from callout.model.records import Decision
from callout.store.outage import Backoff, StoreOutage
from callout.store.protocol import Claim, StoreUnavailable

RunEnd = Literal["completed", "failed"]
StoreErrorKind = Literal["unavailable", "lease_lost"]


@dataclass(frozen=True, slots=True)
class RecordedAttempt:
    """An attempt whose end the store took: what metrics may say of it (no body, no secret)."""

    decision: Decision
    http_status: int | None
    error_type: str | None
    seconds: float | None
    """How long the step's action took (resolve, sign, send, read); None when it did not run."""
    url: str | None
    """The request's URL as recorded (secrets redacted): only its host is ever used."""
    run_end: RunEnd | None
    """How the run ended with this attempt, if it did."""


def run_end(decision: Decision, *, last_step: bool) -> RunEnd | None:
    """Return how a recorded decision ends its run: failed, completed (its last step), or None.

    A step that errors with `continue_on_error` goes on like a success.
    """
    if decision is Decision.ERRORED_FAIL:
        return "failed"
    if last_step and decision in (Decision.SUCCEEDED, Decision.ERRORED_CONTINUE):
        return "completed"
    return None


def starts_run(claim: Claim) -> bool:
    """Whether a claim is its run's first attempt: the first step, never tried before."""
    return claim.position == 0 and claim.next_number == 1


class EngineMetrics(Protocol):
    """Hooks the worker and executor call; each must be cheap and must not raise."""

    def claimed(self, claims: Sequence[Claim]) -> None:
        """Note step runs claimed (those that `starts_run` are runs started)."""
        ...

    def slots(self, *, in_use: int, total: int) -> None:
        """Note the worker's attempts in flight, and how many it may have at once."""
        ...

    def attempt_recorded(self, attempt: RecordedAttempt) -> None:
        """Note an attempt whose end was recorded."""
        ...

    def store_error(self, kind: StoreErrorKind) -> None:
        """Note that the store could not be reached, or refused a result (lease taken over)."""
        ...

    def deferred(self, kind: DeferralKind) -> None:
        """Note an attempt held back by delivery control (docs/delivery-control.md)."""
        ...

    def execution_crashed(self) -> None:
        """Note an execution that raised something unexpected (the worker logs it)."""
        ...


class NoMetrics:
    """Metrics that count nothing: the default where no one scrapes."""

    def claimed(self, claims: Sequence[Claim]) -> None:
        """Count nothing."""

    def slots(self, *, in_use: int, total: int) -> None:
        """Count nothing."""

    def attempt_recorded(self, attempt: RecordedAttempt) -> None:
        """Count nothing."""

    def store_error(self, kind: StoreErrorKind) -> None:
        """Count nothing."""

    def deferred(self, kind: DeferralKind) -> None:
        """Count nothing."""

    def execution_crashed(self) -> None:
        """Count nothing."""


NO_METRICS = NoMetrics()


class CountedOutage(StoreOutage):
    """A `StoreOutage` that also counts each time the store could not be reached."""

    def __init__(self, metrics: EngineMetrics, backoff: Backoff | None = None) -> None:
        super().__init__(backoff)
        self._metrics = metrics

    def lost(self, error: StoreUnavailable) -> None:
        """Count the failed try, then note the outage (logged once)."""
        self._metrics.store_error("unavailable")
        super().lost(error)
