"""`AccountRecords` in memory (unit tests), passing the same contract tests as SQL."""

from __future__ import annotations

from callout.model.clock import Clock


class MemoryAccounts:
    """Organizations, keys, sessions and secrets in memory."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
