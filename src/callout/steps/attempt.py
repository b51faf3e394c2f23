"""One attempt of a step: what it is given, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callout.http import Transport
from callout.model.clock import Clock
from callout.model.records import RecordedRequest, RecordedResponse, StepError
from callout.steps.tokens import TokenSource


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
