"""Reads by key, one at a time per key: callers asking while a read is in flight share it.

The API's caches (`key_cache.py`, `target_cache.py`) read an entry once for every
caller that finds it missing or aged out, and ahead of time, in the background,
for one still in use. Here is what both need of a read: at most one per key in
flight; a caller that gives up (a client gone) does not cancel it for the
others; an error no caller waits for (a read ahead) is nobody's to report; and a
read can be let go, so the next caller starts a fresh one (a change made here
since it began).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedReads(Generic[K, V]):
    """The reads in flight, by key."""

    def __init__(self) -> None:
        self._reading: dict[K, asyncio.Future[V]] = {}

    def __contains__(self, key: K) -> bool:
        """Whether a read of `key` is in flight."""
        return key in self._reading

    def start(self, key: K, read: Callable[[], Awaitable[V]]) -> asyncio.Future[V]:
        """Start `read()` as the read of `key`; it leaves the reads in flight as it ends."""
        task: asyncio.Future[V]

        async def reading() -> V:
            try:
                return await read()
            finally:
                if self._reading.get(key) is task:
                    del self._reading[key]

        task = asyncio.ensure_future(reading())
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._reading[key] = task
        return task

    async def joined(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """Return the answer of the read of `key` in flight, or of `read()` started now."""
        found = self._reading.get(key) or self.start(key, read)
        return await asyncio.shield(found)

    def let_go(self, where: Callable[[K], bool] = lambda _key: True) -> None:
        """Let go of the reads in flight of the keys `where` picks (all by default).

        Each ends for its own callers alone: a caller from now on starts a read of its own.
        """
        for key in [key for key in self._reading if where(key)]:
            del self._reading[key]
