"""One attempt of a step: what it is given, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callout.http import Transport
from callout.model.clock import Clock
from callout.model.records import RecordedRequest, RecordedResponse, StepError


@dataclass(frozen=True, slots=True)
class AttemptContext:
    """What one attempt runs with: the transport, the clock, and who it is."""

    transport: Transport
    clock: Clock
    run_id: str
    step_run_id: str
    attempt_number: int


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

    @property
    def succeeded(self) -> bool:
        """Whether the attempt succeeded."""
        return self.error is None
