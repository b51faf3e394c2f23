"""The plain log of a run: one line per event, for pipes, files and CI."""

from __future__ import annotations

from typing import TextIO

from callout.model.records import AttemptRecord, RunRecord, StepRunRecord, StepStatus


def describe_attempt(attempt: AttemptRecord) -> str:
    """Say in a few words how an attempt ended."""
    if attempt.error is None:
        return f"{attempt.http_status} ok"
    return f"{attempt.error.type}: {attempt.error.message}"


class PlainLog:
    """Writes each event of a run as a line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _say(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()

    def step_started(self, run: RunRecord, step: StepRunRecord) -> None:
        """Log the step's start."""
        self._say(f"[{step.step_id}] started (idempotency key {step.id})")

    def attempt_started(self, run: RunRecord, step: StepRunRecord, number: int) -> None:
        """Log nothing: attempts are logged when they end."""

    def attempt_finished(self, run: RunRecord, step: StepRunRecord, attempt: AttemptRecord) -> None:
        """Log the attempt's outcome and duration."""
        self._say(
            f"[{step.step_id}] attempt {attempt.number}: {describe_attempt(attempt)}"
            f" ({attempt.duration_ms} ms)"
        )

    def waiting(self, run: RunRecord, step: StepRunRecord, until: float) -> None:
        """Log the wait before the next attempt."""
        last = step.attempts[-1]
        wait = until - (last.started_at + last.duration_ms / 1000)
        self._say(f"[{step.step_id}] next attempt in {max(0.0, wait):.1f} s")

    def step_finished(self, run: RunRecord, step: StepRunRecord) -> None:
        """Log how the step ended."""
        if step.status is StepStatus.ERRORED and step.output is not None:
            self._say(f"[{step.step_id}] errored; continuing (continue_on_error)")
        else:
            self._say(f"[{step.step_id}] {step.status.value}")

    def run_finished(self, run: RunRecord) -> None:
        """Log the run's end."""
        self._say(f"run {run.id} {run.status.value}")
