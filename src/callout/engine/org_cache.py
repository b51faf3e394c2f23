"""One reading per organization, kept by a worker process for at most a second.

Delivery control (`delivery_gate.py`) and the run events an organization wants
(`event_wants.py`) are read by every attempt but change rarely: each
organization's reading is taken at most once a second per process, so under
load an organization's attempts share one read a second, and a change made
anywhere is seen here within a second. Attempts asking at the same moment
share one read; a failed read is not kept (the next ask reads again). The
least recently used organizations are dropped past `size`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

MAX_AGE = 1.0
"""Seconds a reading is used before the database is asked again."""

MAX_ORGANIZATIONS = 10_000
"""Most organizations whose readings one process keeps."""

T = TypeVar("T")


class OrgCache(Generic[T]):
    """`read(org_id)`, taken at most once every `max_age` seconds per organization."""

    def __init__(
        self,
        read: Callable[[str], Awaitable[T]],
        *,
        max_age: float = MAX_AGE,
        size: int = MAX_ORGANIZATIONS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age = max_age
        self._size = size
        self._monotonic = monotonic
        self._kept: OrderedDict[str, tuple[float, asyncio.Future[T]]] = OrderedDict()

    async def get(self, org_id: str) -> T:
        """Return the organization's reading, taken at most `max_age` seconds ago."""
        moment = self._monotonic()
        kept = self._kept.get(org_id)
        # A reading "from the future" (a monotonic clock never goes back, a test's may) is old.
        if kept is not None and 0 <= moment - kept[0] < self._max_age:
            self._kept.move_to_end(org_id)
            return await asyncio.shield(kept[1])
        reading = asyncio.ensure_future(self._read(org_id))
        self._kept[org_id] = (moment, reading)
        self._kept.move_to_end(org_id)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
        try:
            # Shielded: an attempt cancelled while it waits does not cancel the others' read.
            return await asyncio.shield(reading)
        except BaseException:
            if (found := self._kept.get(org_id)) is not None and found[1] is reading:
                del self._kept[org_id]  # a failed read is asked again, not remembered
            raise

    def forget(self, org_id: str) -> None:
        """Drop an organization's reading: the next ask reads it again."""
        self._kept.pop(org_id, None)
