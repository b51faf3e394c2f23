"""`RunReading` in memory (unit tests), passing the same contract tests as SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callout.model.clock import Clock

if TYPE_CHECKING:
    from callout.store.memory import MemoryStore


class MemoryRunReading:
    """The API's reads of the runs recorded in `runs`."""

    def __init__(self, runs: MemoryStore, clock: Clock) -> None:
        self._runs = runs
        self._clock = clock
