"""Riding out a database outage: one policy for how long to wait, and one line each way in the log.

Every part of a worker that talks to the database (the claim loop, each
attempt's records, the heartbeat, the LISTEN connection) waits the same way
when the store raises `StoreUnavailable`: 0.1 s, doubling, at most 2 s, each
wait jittered (between half and all of it) so that many workers do not knock
at the same instant. The cap bounds how long work stays stopped after the
database is back. A process shares one `StoreOutage`: it logs one line when the
database goes away and one when it is back, however many parts are waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from callout.store.protocol import StoreUnavailable

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("callout.store")

FIRST_WAIT = 0.1
"""Seconds before the first try again."""

MAX_WAIT = 2.0
"""Most seconds between two tries: work resumes at most this long after the database is back."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between tries: `first` seconds, times `factor` each time, at most `cap`, jittered."""

    first: float = FIRST_WAIT
    cap: float = MAX_WAIT
    factor: float = 2.0

    def waits(self, rng: random.Random | None = None) -> Iterator[float]:
        """Yield the wait before each next try, for ever: between half and all of its step."""
        pick = rng or random.Random()  # noqa: S311 - jitter spreads load; no secret depends on it
        step = self.first
        while True:
            yield pick.uniform(step / 2, step)
            step = min(step * self.factor, self.cap)


class StoreOutage:
    """What this process knows of the database: reachable or not, logged once each way."""

    def __init__(self, backoff: Backoff | None = None, *, logger: logging.Logger = log) -> None:
        self.backoff = backoff or Backoff()
        self._log = logger
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        """Whether the database was last seen unreachable."""
        return self._down_since is not None

    def lost(self, error: StoreUnavailable) -> None:
        """Note that the database could not be reached; log it if that is news."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._log.warning(
                "%s; trying again every %g s at most, attempts in flight kept",
                error,
                self.backoff.cap,
            )

    def reached(self) -> None:
        """Note that the database answered after a failure; log it if it was down."""
        if self._down_since is not None:
            seconds = time.monotonic() - self._down_since
            self._down_since = None
            self._log.warning("the database is back after %.1f s; resuming", seconds)

    async def ride_out(
        self, call: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await `call(*args, **kwargs)`, trying again while the store is unavailable.

        Only for operations that are safe to repeat: reads, and writes fenced by a
        lease (a repeat of a write whose first try did land is refused by the fence
        with `LeaseLostError`). The arguments are built once, so a finished
        attempt's result waits here, in memory, until the database takes it.
        """
        waits: Iterator[float] | None = None
        while True:
            try:
                result = await call(*args, **kwargs)
            except StoreUnavailable as exc:
                self.lost(exc)
                waits = waits or self.backoff.waits()
                await asyncio.sleep(next(waits))
                continue
            except Exception:
                if waits is not None:
                    self.reached()  # it answered, if only to refuse (a lost lease)
                raise
            if waits is not None:
                # Only a call that failed says the database is back: a read that
                # works while SQLite's write lock is held proves nothing.
                self.reached()
            return result
