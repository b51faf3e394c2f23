"""A worker's reserve for limited hosts: most attempts to one are admitted without a round trip.

Where a host has a limit on sending, the database decides (`DeliveryRecords.admit`),
so that every worker respects the limit together. Asking it for each attempt cost
a sixth of the throughput at full speed. So a worker process takes, with an
attempt's admission, up to `RESERVE_SPARES` spare admissions for the same host
(`AdmitTicket.spares`): slots where the host limits what is in flight, tokens
where it has a rate. Its next attempts to the host use them here, and a slot whose
attempt succeeded comes back here rather than to the database. In the database
those slots are rows like any attempt's, so the limit counts them: the sum of every
worker's reserve and every attempt in flight never passes it.

What keeps a reserve honest:

- Spares are taken only while the host is untroubled (breaker closed, no failure
  counted) and only as far as the limit and the rate allow at that moment; a
  troubled host's attempts are each asked for, as before.
- A slot lives `RESERVE_LIFE` seconds beyond an attempt's hold (its row expires
  then, if its worker died); an attempt uses one only while it has a whole hold
  left. Tokens are spent within `TOKEN_LIFE` of being taken, or lost: sends never
  bunch beyond what the bucket gave out a moment before.
- A failed attempt gives its slot back through its result, and counts; so does
  every attempt while the host is *crowded* (the limit stopped the spares short, or
  deferred an attempt): then slots go to the step runs waiting, as before.
- Free slots go back to the database (`give_back`, waking as many waiters) when the
  host is crowded, when unused for `RESERVE_IDLE` seconds, with the next admission
  asked for the host, and when the worker stops. A lower limit read from the
  database sends the next attempt to it again.

docs/delivery-control.md, "A worker's reserve", tells the same in words.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from callout.store.delivery import Admission, AdmitTicket, HostLimit, spare_slot_id

RESERVE_SPARES = 16
"""Spare admissions a worker asks for with an attempt's own, for its reserve."""

RESERVE_MOST = 256
"""The most spares asked for at once: the ask doubles while the reserve runs dry within
`TOKEN_LIFE` of its last refill, and falls back to `RESERVE_SPARES` when it does not or the
host is crowded."""

RESERVE_LIFE = 30.0
"""Seconds a reserved slot outlives an attempt's hold: how long it can be used again."""

TOKEN_LIFE = 0.1
"""Seconds a reserved rate token may wait to be spent."""

RESERVE_IDLE = 0.5
"""Seconds a free slot may sit unused before it goes back to the database."""


@dataclass(frozen=True, slots=True)
class Reserved:
    """What an attempt took from its worker's reserve: a slot (None under a rate alone)."""

    slot_id: str | None
    until: float
    """The worker's monotonic time by which the slot's row expires."""


class HostReserve:
    """One host's reserve in one worker process (the caller holds the event loop)."""

    __slots__ = (
        "ask",
        "crowded",
        "filled_at",
        "free",
        "last_used",
        "max_in_flight",
        "refilling",
        "tokens",
        "tokens_until",
        "wanting",
    )

    def __init__(self) -> None:
        self.free: list[Reserved] = []
        self.tokens = 0
        self.tokens_until = 0.0
        self.crowded = False
        self.last_used = -math.inf
        self.max_in_flight: int | None = None
        """The in-flight limit under which the free slots were taken."""
        self.refilling: asyncio.Future[None] | None = None
        """Set while one attempt asks the store with spares: the others wait for it."""
        self.wanting = 0
        """Attempts waiting for that refill."""
        self.ask = RESERVE_SPARES
        self.filled_at = -math.inf

    async def turn(
        self, limit: HostLimit, *, hold_for: float, monotonic: Callable[[], float]
    ) -> Reserved | int:
        """Admit an attempt from the reserve, waiting for a refill another is asking for.

        Returns what it took; else how many spares the attempt should ask the store
        for: then it is this reserve's refill (`refilled()` when answered), or, while
        the host is crowded, an attempt asking for itself alone (0). One refill at a
        time: a batch of attempts arriving at once asks once, for all of them.
        """
        while True:
            taken = self.take(limit, hold_for=hold_for, now=monotonic())
            if taken is not None:
                return taken
            if self.refilling is None:
                self.refilling = asyncio.get_running_loop().create_future()
                dry_soon = monotonic() - self.filled_at < TOKEN_LIFE
                self.ask = min(RESERVE_MOST, self.ask * 2) if dry_soon else RESERVE_SPARES
                return min(RESERVE_MOST, max(self.ask, self.wanting))
            if self.crowded:
                return 0  # at its limit: the store decides each attempt, as they come
            self.wanting += 1
            try:
                await asyncio.shield(self.refilling)
            finally:
                self.wanting -= 1

    def refilled(self) -> None:
        """End this reserve's refill (answered or not): the attempts waiting look again."""
        refilling, self.refilling = self.refilling, None
        if refilling is not None and not refilling.done():
            refilling.set_result(None)

    def take(self, limit: HostLimit, *, hold_for: float, now: float) -> Reserved | None:
        """Admit an attempt that holds its slot up to `hold_for` seconds, or None: ask the store."""
        rate = limit.rate_per_second
        spends_token = rate is not None and rate > 0
        if spends_token and (self.tokens <= 0 or now >= self.tokens_until):
            return None
        taken = Reserved(None, math.inf)
        if limit.max_in_flight is not None:
            if self.max_in_flight is None or limit.max_in_flight < self.max_in_flight:
                return None  # taken under another limit (or none): the database decides again
            usable = next(
                (index for index, slot in enumerate(self.free) if slot.until - now >= hold_for),
                None,
            )
            if usable is None:
                return None
            taken = self.free.pop(usable)
        if spends_token:
            self.tokens -= 1
        self.last_used = now
        return taken

    def surrender(self) -> tuple[str, ...]:
        """Give up every free slot and token: return the slots' ids, for the store to release."""
        given = tuple(slot.slot_id for slot in self.free if slot.slot_id is not None)
        self.free, self.tokens = [], 0
        return given

    def fill(
        self, ticket: AdmitTicket, admission: Admission, *, asked_at: float
    ) -> Reserved | None:
        """Keep the spares the store gave with `ticket`'s admission; return the attempt's own."""
        if ticket.spares:
            self.crowded = admission.crowded
            self.filled_at = asked_at
            if self.crowded:
                self.ask = RESERVE_SPARES
        if not admission.admitted or admission.probe:
            return None
        until = asked_at + ticket.hold_for
        limit = ticket.limit
        if admission.slot:
            self.max_in_flight = limit.max_in_flight if limit is not None else None
            self.free.extend(
                Reserved(spare_slot_id(ticket.attempt_id, number), until)
                for number in range(1, admission.spares + 1)
            )
        if limit is not None and limit.rate_per_second:
            self.tokens, self.tokens_until = admission.spares, asked_at + TOKEN_LIFE
        self.last_used = asked_at
        return Reserved(ticket.attempt_id if admission.slot else None, until)

    def put_back(self, slot: Reserved, *, now: float) -> None:
        """Keep the slot of an attempt that ended well for the next attempt to the host."""
        if slot.slot_id is not None:
            self.free.append(slot)
        self.last_used = now

    def idle(self, now: float) -> bool:
        """Whether its free slots should go back: the host is crowded, or they sat unused."""
        return bool(self.free) and (self.crowded or now - self.last_used >= RESERVE_IDLE)

    def empty(self, now: float) -> bool:
        """Whether it holds nothing and has been unused a while (so it can be forgotten)."""
        return not self.free and now - self.last_used >= RESERVE_IDLE


class HostReserves:
    """A worker process's reserves, by (organization, host)."""

    def __init__(self) -> None:
        self._reserves: dict[tuple[str, str], HostReserve] = {}

    def of(self, org_id: str, host: str) -> HostReserve:
        """Return the host's reserve, made empty if it has none."""
        found = self._reserves.get((org_id, host))
        if found is None:
            found = self._reserves[org_id, host] = HostReserve()
        return found

    def surrender(self, org_id: str, host: str) -> tuple[str, ...]:
        """Give up the host's free slots (if it has a reserve): their ids, to release."""
        found = self._reserves.get((org_id, host))
        return found.surrender() if found is not None else ()

    def to_give_back(
        self, now: float, *, everything: bool = False
    ) -> list[tuple[str, str, tuple[str, ...]]]:
        """Take the free slots that should go back now (all of them if `everything`).

        Returns (organization, host, slot ids) for each host with some; forgets the
        reserves that hold nothing.
        """
        given: list[tuple[str, str, tuple[str, ...]]] = []
        for (org_id, host), reserve in list(self._reserves.items()):
            if everything or reserve.idle(now):
                slots = reserve.surrender()
                if slots:
                    given.append((org_id, host, slots))
            if reserve.empty(now):
                del self._reserves[org_id, host]
        return given
