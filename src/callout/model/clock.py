"""The clock every wait and timestamp goes through, so tests can replace it."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Tells the time (unix seconds) and waits."""

    def now(self) -> float:
        """Return the current time in unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Return `time.time()`."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait on the event loop."""
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock for tests: time moves only when something sleeps or `advance` is called.

    `sleep` returns at once after moving the time forward, so a ten-minute retry
    schedule runs in milliseconds; `sleeps` records every wait asked for.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Return the manual time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the time forward."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait, move the time forward, and yield to the loop once."""
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)
