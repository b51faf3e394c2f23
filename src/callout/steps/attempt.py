"""One attempt of a step: what it is given, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from callout.http import Transport
from callout.model.clock import Clock
from callout.model.delivery import Deferral
from callout.model.records import RecordedRequest, RecordedResponse, StepError
from callout.steps.tokens import TokenSource


class DeliveryGate(Protocol):
    """Delivery control for one attempt (engine/delivery_gate.py): whether it may send now."""

    async def admit(self, host: str) -> Deferral | None:
        """Return None to send now (the slot, token or probe is this attempt's), or a deferral.

        Asked right before the request leaves, after it was built, so the step's
        timeout starts only when it is sent. Asking again for the same attempt
        (a re-send after a 401) admits it without taking a second slot.
        """
        ...


@dataclass(frozen=True, slots=True)
class AttemptContext:
    """What one attempt runs with: the transport, the clock, who it is, and its token source."""

    transport: Transport
    clock: Clock
    run_id: str
    step_run_id: str
    attempt_number: int
    tokens: TokenSource | None = None
    """Where OAuth2 access tokens come from; None where no store is at hand (a step
    using `oauth2_client_credentials` then fails with a clear error)."""
    gate: DeliveryGate | None = None
    """Per-host limits and the circuit breaker; None: send at once (`callout run`, Test step)."""


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How one attempt ended.

    `output` is set on success; `error` on failure, with `retryable` saying
    whether another attempt may help and `retry_after` the server's wish (s).
    """

    output: dict[str, Any] | None = None
    error: StepError | None = None
    retryable: bool = False
    retry_after: float | None = None
    request: RecordedRequest | None = None
    response: RecordedResponse | None = None
    deferred: Deferral | None = None
    """Set when delivery control held the attempt back: nothing was sent, and the step
    run waits (`Store.defer`) without using an attempt."""

    @property
    def succeeded(self) -> bool:
        """Whether the attempt succeeded (a deferred attempt neither succeeded nor failed)."""
        return self.error is None and self.deferred is None
