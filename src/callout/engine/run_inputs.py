"""The runs' documents and triggers a worker keeps in memory, bounded by their size."""

from __future__ import annotations

import sys
from collections import OrderedDict

from callout.store.protocol import RunInput

INPUT_CACHE_BYTES = 16 * 1024 * 1024
"""Memory (as Python objects, estimated) the cached documents and triggers may use."""

LARGEST_CACHED_INPUT = INPUT_CACHE_BYTES // 4
"""A run whose document and trigger take more is read at each attempt instead: one
large trigger must not push every other run out."""


def estimated_size(found: RunInput) -> int:
    """Estimate the bytes a run's document and trigger take as Python objects.

    Sums `sys.getsizeof` over every container, key and value (shared small values
    count each time: an estimate that errs high). Walks with its own stack.
    """
    total = 0
    pending: list[object] = [found.document, found.trigger]
    while pending:
        value = pending.pop()
        total += sys.getsizeof(value)
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return total


class RunInputCache:
    """Run inputs by run id, least recently used first out, within `budget` bytes."""

    def __init__(
        self, budget: int = INPUT_CACHE_BYTES, largest: int = LARGEST_CACHED_INPUT
    ) -> None:
        self._budget = budget
        self._largest = largest
        self._entries: OrderedDict[str, tuple[RunInput, int]] = OrderedDict()
        self._total = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total(self) -> int:
        """The estimated bytes held now."""
        return self._total

    def get(self, run_id: str) -> RunInput | None:
        """Return the cached input of `run_id`, or None."""
        entry = self._entries.get(run_id)
        if entry is None:
            return None
        self._entries.move_to_end(run_id)
        return entry[0]

    def put(self, run_id: str, found: RunInput, size: int) -> None:
        """Keep `found` (estimated at `size` bytes) unless it is too large to keep."""
        if size > self._largest or run_id in self._entries:
            return
        self._entries[run_id] = (found, size)
        self._total += size
        while self._total > self._budget:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._total -= dropped
