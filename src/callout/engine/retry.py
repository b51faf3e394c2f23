"""When the next attempt of a step is due."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RETRY_AFTER_CAP = 3600.0
"""A server's `Retry-After` may stretch a wait to at most this many seconds (1 h)."""


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """A step's retry intervals, and how far `Retry-After` may stretch one.

    `intervals=(5, 60)` means up to three attempts: at once, 5 s after the first
    ends, 60 s after the second ends.
    """

    intervals: tuple[float, ...] = ()
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP

    def wait_before_retry(
        self, retry_number: int, retry_after: float | None = None
    ) -> float | None:
        """Return the wait before retry `retry_number` (1 = the first), or None if none remains.

        A `Retry-After` longer than the interval stretches the wait, up to the cap;
        a shorter one never shortens it. No interval left: no retry, whatever the server asked.
        """
        if retry_number < 1 or retry_number > len(self.intervals):
            return None
        wait = self.intervals[retry_number - 1]
        if retry_after is not None and retry_after > wait:
            wait = max(wait, min(retry_after, self.retry_after_cap))
        return wait
