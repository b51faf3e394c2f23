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
  host is crowded, when unused for `RESERVE_IDLE` seconds, and when the worker stops;
  stale ones with the next ask. A lower limit read from the database sends the next
  attempt to it again.
- The reserve is refilled ahead of need, in the background, when an attempt leaves it
  low (`HostReserve.ahead`, `AdmitTicket.reserve_only`), so attempts seldom wait.

docs/delivery-control.md, "A worker's reserve", tells the same in words.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from callout.store.delivery import Admission, AdmitTicket, HostLimit, spare_slot_id

RESERVE_SPARES = 16
"""Spare admissions a worker asks for with an attempt's own, for its reserve."""

RESERVE_MOST = 256
"""The most spares asked for at once. An ask is for twice what the reserve gave out since
the last one (at least `RESERVE_SPARES`), and for as many as are waiting."""

RESERVE_LIFE = 30.0
"""Seconds a reserved slot outlives an attempt's hold: how long it can be used again."""

TOKEN_LIFE = 0.1
"""Seconds after its last refill a reserve's rate tokens may still be spent."""

RESERVE_IDLE = 0.5
"""Seconds a free slot may sit unused before it goes back to the database."""


@dataclass(frozen=True, slots=True)
class Reserved:
    """What an attempt took from its worker's reserve: a slot (None under a rate alone)."""

    slot_id: str | None
    until: float
    """The worker's monotonic time by which the slot's row expires."""


@dataclass(frozen=True, slots=True)
class Ask:
    """What an attempt (or a refill ahead of need) asks the store for, for the reserve."""

    spares: int
    held: Reserved | None = None
    """A free slot the asking attempt already holds: it asks for a token alone."""
    returned: tuple[str, ...] = ()
    """Slots the reserve gives back with the ask (gone stale, or all while crowded)."""
    tokens_only: bool = False
    """A refill ahead of need with slots enough: it asks for rate tokens alone."""

    def limit_for(self, limit: HostLimit) -> HostLimit:
        """Return the limit the store decides the ask by: its rate alone if no slot is wanted."""
        if self.held is not None or self.tokens_only:
            return replace(limit, max_in_flight=None)
        return limit


class HostReserve:
    """One host's reserve in one worker process (the caller holds the event loop)."""

    __slots__ = (
        "ask",
        "crowded",
        "free",
        "last_used",
        "max_in_flight",
        "refilling",
        "tokens",
        "tokens_until",
        "used",
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
        """Set while the store is asked for spares: attempts that find nothing wait for it."""
        self.wanting = 0
        """Attempts waiting for that refill."""
        self.ask = RESERVE_SPARES
        self.used = 0
        """Admissions taken from the reserve since the last ask."""

    async def turn(
        self, limit: HostLimit, *, hold_for: float, monotonic: Callable[[], float]
    ) -> Reserved | Ask:
        """Admit an attempt from the reserve, waiting for a refill already asked for.

        Returns what it took; else what the attempt should ask the store: then it is
        this reserve's refill (`refilled()` when answered), or, while the host is
        crowded, an attempt asking for itself alone (no spares). One refill at a time:
        attempts arriving at once ask once, for all of them.
        """
        while True:
            now = monotonic()
            taken = self.take(limit, hold_for=hold_for, now=now)
            if taken is not None:
                return taken
            if self.refilling is None:
                self.refilling = asyncio.get_running_loop().create_future()
                held = self._usable(limit, hold_for=hold_for, now=now)
                spares = max(self._next_ask(), self.wanting)
                return Ask(min(RESERVE_MOST, spares), held, self._stale(hold_for, now))
            if self.crowded:
                # At its limit: the store decides each attempt, as they come, and the
                # reserve's free slots go back to it.
                return Ask(0, returned=self.surrender())
            self.wanting += 1
            try:
                await asyncio.shield(self.refilling)
            finally:
                self.wanting -= 1

    def ahead(self, limit: HostLimit, *, hold_for: float, now: float) -> Ask | None:
        """Return a refill to ask for before the reserve runs dry, or None: not yet (or asked)."""
        if self.refilling is not None or self.crowded:
            return None
        low = self.ask // 4
        slots_low = limit.max_in_flight is not None and len(self.free) <= low
        rate = limit.rate_per_second
        # Tokens run low by use, or by age: half their life gone.
        ageing = now >= self.tokens_until - TOKEN_LIFE / 2
        tokens_low = rate is not None and rate > 0 and (self.tokens <= low or ageing)
        if not slots_low and not tokens_low:
            return None
        self.refilling = asyncio.get_running_loop().create_future()
        spares = self._next_ask()
        if slots_low:
            return Ask(spares, returned=self._stale(hold_for, now))
        # Slots enough, tokens low: tokens alone.
        return Ask(spares, returned=self._stale(hold_for, now), tokens_only=True)

    def refilled(self) -> None:
        """End this reserve's refill (answered or not): the attempts waiting look again."""
        refilling, self.refilling = self.refilling, None
        if refilling is not None and not refilling.done():
            refilling.set_result(None)

    def _next_ask(self) -> int:
        """How many spares to ask for: twice what was used since the last ask, within bounds."""
        self.ask = min(RESERVE_MOST, max(RESERVE_SPARES, 2 * self.used))
        self.used = 0
        return self.ask

    def _usable(self, limit: HostLimit, *, hold_for: float, now: float) -> Reserved | None:
        """Take a free slot with a whole hold left (the attempt lacks only a token), or None."""
        if limit.max_in_flight is None or self.max_in_flight is None:
            return None
        if limit.max_in_flight < self.max_in_flight:
            return None
        for index, slot in enumerate(self.free):
            if slot.until - now >= hold_for:
                return self.free.pop(index)
        return None

    def _stale(self, hold_for: float, now: float) -> tuple[str, ...]:
        """Take out the free slots without a whole hold left: their ids, to give back."""
        stale = [slot for slot in self.free if slot.until - now < hold_for]
        if stale:
            self.free = [slot for slot in self.free if slot.until - now >= hold_for]
        return tuple(slot.slot_id for slot in stale if slot.slot_id is not None)

    def take(self, limit: HostLimit, *, hold_for: float, now: float) -> Reserved | None:
        """Admit an attempt that holds its slot up to `hold_for` seconds, or None: ask the store."""
        rate = limit.rate_per_second
        spends_token = rate is not None and rate > 0
        if spends_token and (self.tokens <= 0 or now >= self.tokens_until):
            return None
        taken = Reserved(None, math.inf)
        if limit.max_in_flight is not None:
            found = self._usable(limit, hold_for=hold_for, now=now)
            if found is None:
                return None
            taken = found
        if spends_token:
            self.tokens -= 1
        self.last_used = now
        self.used += 1
        return taken

    def surrender(self) -> tuple[str, ...]:
        """Give up every free slot and token: return the slots' ids, for the store to release."""
        given = tuple(slot.slot_id for slot in self.free if slot.slot_id is not None)
        self.free, self.tokens = [], 0
        return given

    def fill(
        self, ticket: AdmitTicket, admission: Admission, *, asked_at: float, ask: Ask
    ) -> Reserved | None:
        """Keep what the store gave with `ticket`'s admission; return the attempt's own.

        Refused, the slot the attempt held (`ask.held`) goes back among the free ones.
        """
        limit = ticket.limit
        if ticket.spares and limit is not None and limit.max_in_flight is not None:
            self.crowded = admission.crowded
        if not admission.admitted or admission.probe:
            if ask.held is not None and ask.held.slot_id is not None:
                self.free.append(ask.held)
            return None
        until = asked_at + ticket.hold_for
        if admission.slot:
            self.max_in_flight = limit.max_in_flight if limit is not None else None
            self.free.extend(
                Reserved(spare_slot_id(ticket.attempt_id, number), until)
                for number in range(1, admission.spares + 1)
            )
        if limit is not None and limit.rate_per_second:
            alive = self.tokens if asked_at < self.tokens_until else 0
            own = 1 if ticket.reserve_only else 0  # a refill's own token is a spare too
            self.tokens = alive + admission.spares + own
            self.tokens_until = asked_at + TOKEN_LIFE
        self.last_used = asked_at
        if ask.held is not None:
            return ask.held
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
        idle = now - self.last_used >= RESERVE_IDLE
        return not self.free and self.refilling is None and idle


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
