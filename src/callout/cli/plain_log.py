"""The plain log of a run: one line per event, for pipes, files and CI."""

from __future__ import annotations

from typing import Any, TextIO

from callout.store.protocol import StoredAttempt, StoredRun


def describe_attempt(attempt: StoredAttempt) -> str:
    """Say in a few words how an attempt ended."""
    if attempt.status == "sending":
        return "sending"
    if attempt.error is None:
        return f"{attempt.http_status} ok"
    error: dict[str, Any] = attempt.error
    return f"{error.get('type')}: {error.get('message')}"


def duration_ms(attempt: StoredAttempt) -> int:
    """Return how long an attempt took, in milliseconds (0 while it runs)."""
    if attempt.ended_at is None:
        return 0
    return max(0, round((attempt.ended_at - attempt.started_at) * 1000))


class PlainLog:
    """Writes each change of a run as a line, given snapshots of the run."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._said: set[tuple[str, str]] = set()

    def _say_once(self, key: tuple[str, str], text: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self._stream.write(text + "\n")
            self._stream.flush()

    def update(self, run: StoredRun) -> None:
        """Log what changed since the last snapshot."""
        for step in run.steps:
            name = f"[{step.step_id}]"
            for attempt in step.attempts:
                if attempt.ended_at is None:
                    continue
                self._say_once(
                    (attempt.id, "ended"),
                    f"{name} attempt {attempt.number}: {describe_attempt(attempt)}"
                    f" ({duration_ms(attempt)} ms)",
                )
                if attempt.next_attempt_at is not None:
                    wait = attempt.next_attempt_at - attempt.ended_at
                    self._say_once((attempt.id, "wait"), f"{name} next attempt in {wait:.1f} s")
            if step.status in ("succeeded", "errored", "skipped", "cancelled"):
                continued = (
                    " (continue_on_error: the run goes on)" if step.output and step.error else ""
                )
                self._say_once((step.id, step.status), f"{name} {step.status}{continued}")
        if run.status in ("completed", "failed", "cancelled"):
            self._say_once((run.id, run.status), f"run {run.id} {run.status}")
