"""What a run tells whoever watches it (the live view, the plain log)."""

from __future__ import annotations

from typing import Protocol

from callout.model.records import AttemptRecord, RunRecord, StepRunRecord


class RunObserver(Protocol):
    """Hears about a run as it happens. Every method must return quickly."""

    def step_started(self, run: RunRecord, step: StepRunRecord) -> None:
        """Hear that a step run begins."""

    def attempt_started(self, run: RunRecord, step: StepRunRecord, number: int) -> None:
        """Hear that an attempt is about to be sent."""

    def attempt_finished(self, run: RunRecord, step: StepRunRecord, attempt: AttemptRecord) -> None:
        """Hear that an attempt ended (its record is in `step.attempts`)."""

    def waiting(self, run: RunRecord, step: StepRunRecord, until: float) -> None:
        """Hear that the step waits for its next attempt, due at `until` (unix seconds)."""

    def step_finished(self, run: RunRecord, step: StepRunRecord) -> None:
        """Hear that a step run ended: succeeded, errored or skipped."""

    def run_finished(self, run: RunRecord) -> None:
        """Hear that the run ended."""


class QuietObserver:
    """Watches nothing."""

    def step_started(self, run: RunRecord, step: StepRunRecord) -> None:
        """Ignore."""

    def attempt_started(self, run: RunRecord, step: StepRunRecord, number: int) -> None:
        """Ignore."""

    def attempt_finished(self, run: RunRecord, step: StepRunRecord, attempt: AttemptRecord) -> None:
        """Ignore."""

    def waiting(self, run: RunRecord, step: StepRunRecord, until: float) -> None:
        """Ignore."""

    def step_finished(self, run: RunRecord, step: StepRunRecord) -> None:
        """Ignore."""

    def run_finished(self, run: RunRecord) -> None:
        """Ignore."""
