"""Delivery control's rules, without I/O: the SQL and memory stores decide alike by them.

A host's row (`HostRow`: its breaker and its rate bucket) and the slots live for
it go in; what an admission or an attempt's end makes of the row comes out. The
stores read and write the row around these functions, in one transaction
holding it (`delivery_sql.py`, `memory_delivery.py`); the times are the store's.
docs/delivery-control.md tells the same rules in words.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from callout.model.delivery import Deferral, DeferralKind
from callout.store.delivery import (
    MAX_BREAKER_PAUSE,
    Admission,
    AdmitTicket,
    BreakerState,
    HostOutcome,
    spare_slot_id,
)

MAX_SLOT_BACKOFF = 5.0
"""Seconds, at most, a step run waits for a slot (or the probe's answer) before asking again."""

FIRST_SLOT_BACKOFF = 0.05
"""Seconds a step run first waits for a slot; doubled at each deferral, up to the most."""

_EARLY = 1e-9
"""Tokens short of a whole one that still count as one: a waiter back at its turn takes it."""


@dataclass(frozen=True, slots=True)
class HostRow:
    """One host's `host_states` row: its breaker and its rate bucket."""

    breaker: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float | None = None
    next_probe_at: float | None = None
    pause: float | None = None
    """The pause the breaker is in (doubled after a failed probe); None when closed."""
    last_error: str | None = None
    tokens: float | None = None
    """The rate bucket's tokens when last refilled; None: full."""
    refilled_at: float | None = None
    rate_horizon: float | None = None
    """The latest turn handed to a step run waiting for the rate."""


@dataclass(frozen=True, slots=True)
class LiveSlots:
    """What is in flight to a host now (expired slots already removed)."""

    in_flight: int = 0
    """Live slots of attempts (the probe not counted)."""
    probing: bool = False
    """The breaker's probe holds a live slot."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """An admission, and the host's row as it must be written (the same row: unchanged)."""

    admission: Admission
    row: HostRow


def slot_backoff(deferrals: int, jitter: float) -> float:
    """Seconds a step run deferred `deferrals` times before waits for a slot, times `jitter`."""
    return min(MAX_SLOT_BACKOFF, FIRST_SLOT_BACKOFF * 2.0 ** min(deferrals, 16)) * jitter


def jitter() -> float:
    """Return a factor in [0.5, 1]: step runs held back together do not come back together."""
    return random.uniform(0.5, 1.0)  # noqa: S311 - spreads waits, guards nothing


def after_expiry(row: HostRow, *, probe_expired: bool, now: float) -> HostRow:
    """Return the row once expired slots are gone: an abandoned probe opens the breaker again.

    The probe's worker died (or stalled past its hold): nobody will answer for it,
    so the next attempt may probe at once.
    """
    if probe_expired and row.breaker is BreakerState.HALF_OPEN:
        return replace(row, breaker=BreakerState.OPEN, next_probe_at=now)
    return row


def admission(  # noqa: PLR0913 - the row, the ticket, and what the store read beside them
    row: HostRow,
    ticket: AdmitTicket,
    *,
    now: float,
    slots: LiveSlots,
    deferrals: Callable[[], int],
    spread: float,
) -> Verdict:
    """Decide whether `ticket`'s attempt may go now; nothing is taken when it must wait.

    In order: the breaker (open: wait for the next probe, or be the probe; half
    open: wait for the probe's answer), the in-flight limit, the rate. `deferrals`
    reads how often the step run was held back (only asked for a back-off);
    `spread` is the jitter of that back-off.
    """
    host = ticket.host
    if row.breaker is not BreakerState.CLOSED:
        if row.breaker is BreakerState.OPEN and row.next_probe_at is not None:
            if now < row.next_probe_at:
                delay = row.next_probe_at - now
                return Verdict(_deferred(host, delay, _paused(host, row), "breaker"), row)
        elif row.breaker is BreakerState.HALF_OPEN and slots.probing:
            reason = f"waiting for the probe to {host} to answer"
            delay = slot_backoff(deferrals(), spread)
            return Verdict(_deferred(host, delay, reason, "breaker"), row)
        # The pause is over (or the probe was lost): this attempt is the probe.
        return Verdict(Admission(probe=True), replace(row, breaker=BreakerState.HALF_OPEN))
    limit = ticket.limit
    if limit is None:
        return Verdict(Admission(), row)
    most = limit.max_in_flight
    if most is not None and slots.in_flight >= most:
        reason = f"waiting for a slot: at most {_requests(most)} in flight to {host}"
        delay = slot_backoff(deferrals(), spread)
        return Verdict(_deferred(host, delay, reason, "in_flight"), row)
    rate = limit.rate_per_second
    if rate is not None and rate > 0:
        taken, turn = _take_token(row, rate=rate, burst=max(1, limit.burst or 1), now=now)
        if turn is not None:
            reason = f"waiting for its turn: at most {_rate(rate)} a second to {host}"
            # A worker's refill ahead of need (`AdmitTicket.reserve_only`) has no step
            # run to come back: refused, it is handed no turn, and the row stays.
            return Verdict(
                _deferred(host, turn - now, reason, "rate"), row if ticket.reserve_only else taken
            )
        row = taken
    return Verdict(Admission(slot=most is not None), row)


@dataclass(frozen=True, slots=True)
class Spares:
    """Spare admissions taken for a worker's reserve, and the row as they left it."""

    row: HostRow
    taken: int
    crowded: bool
    """The in-flight limit stopped them short."""


def spare_admissions(row: HostRow, ticket: AdmitTicket, *, now: float, slots: LiveSlots) -> Spares:
    """Take up to `ticket.spares` more admissions after the ticket's own, while each may go now.

    Only for a host with no trouble (breaker closed, no failure counted): a troubled
    host's attempts are each asked for. The answer is that of deciding each spare as
    an attempt of its own would be (`slots` already counts the ticket's slot) until
    the first that would wait, without what that refusal would have written (a
    rate's turn); counted at once rather than one by one.
    """
    limit = ticket.limit
    if limit is None or row.breaker is not BreakerState.CLOSED or row.consecutive_failures:
        return Spares(row, 0, crowded=False)
    wanted = ticket.spares
    room = wanted
    if limit.max_in_flight is not None:
        room = max(0, min(wanted, limit.max_in_flight - slots.in_flight))
    rate = limit.rate_per_second
    if rate is None or rate <= 0 or room == 0:
        return Spares(row, room, crowded=room < wanted)
    row, taken = _take_tokens(row, rate=rate, burst=max(1, limit.burst or 1), now=now, most=room)
    # The in-flight limit is checked before the rate: it ends them if it comes first.
    return Spares(row, taken, crowded=taken == room < wanted)


def _take_tokens(
    row: HostRow, *, rate: float, burst: int, now: float, most: int
) -> tuple[HostRow, int]:
    """Refill the bucket and take up to `most` whole tokens at once (as `_take_token` each)."""
    tokens = float(burst) if row.tokens is None else row.tokens
    at = now if row.refilled_at is None else max(now, row.refilled_at)
    if row.refilled_at is not None:
        tokens = min(float(burst), tokens + max(0.0, now - row.refilled_at) * rate)
    taken = min(most, max(0, math.floor(tokens + _EARLY)))
    if taken == 0:
        return row, 0
    return replace(row, tokens=max(0.0, tokens - taken), refilled_at=at), taken


def with_spares(
    answer: Admission, row: HostRow, ticket: AdmitTicket, now: float, slots: LiveSlots
) -> tuple[Admission, HostRow, LiveSlots, list[str]]:
    """Add the spares `ticket` asked for to its admission (`spare_admissions`).

    Returns the admission, the row and the live slots as they leave it, and the ids
    of the spare slots to take.
    """
    if not ticket.spares:
        return answer, row, slots, []
    deferral = answer.deferral
    if deferral is not None:
        return replace(answer, crowded=deferral.kind == "in_flight"), row, slots, []
    if answer.probe or ticket.limit is None:
        return answer, row, slots, []
    spares = spare_admissions(row, ticket, now=now, slots=slots)
    answer = replace(answer, spares=spares.taken, crowded=spares.crowded)
    if not answer.slot:
        return answer, spares.row, slots, []  # a rate alone: tokens, no slots
    ids = [spare_slot_id(ticket.attempt_id, number) for number in range(1, spares.taken + 1)]
    slots = replace(slots, in_flight=slots.in_flight + spares.taken)
    return answer, spares.row, slots, ids


def _take_token(
    row: HostRow, *, rate: float, burst: int, now: float
) -> tuple[HostRow, float | None]:
    """Refill the bucket and take a token: (row, None); or, if none, (row, the attempt's turn).

    A waiter's turn comes after every turn already handed out, so step runs held
    back together come back one by one, at the rate, not all at once.
    """
    tokens = float(burst) if row.tokens is None else row.tokens
    # The refill mark never moves back: on PostgreSQL `now` is when this transaction
    # began, which can be before the mark a transaction that began later (and took the
    # row first) left. Moving it back would pay the same interval out twice.
    at = now if row.refilled_at is None else max(now, row.refilled_at)
    if row.refilled_at is not None:
        tokens = min(float(burst), tokens + max(0.0, now - row.refilled_at) * rate)
    if tokens >= 1 - _EARLY:
        return replace(row, tokens=max(0.0, tokens - 1), refilled_at=at), None
    turn = at + (1 - tokens) / rate
    if row.rate_horizon is not None and row.rate_horizon > at:
        turn = max(turn, row.rate_horizon + 1 / rate)
    return replace(row, tokens=tokens, refilled_at=at, rate_horizon=turn), turn


@dataclass(frozen=True, slots=True)
class OutcomeVerdict:
    """What an attempt's end makes of its host's row."""

    row: HostRow
    opened: bool = False
    """This failure opened the breaker (from closed): a `host.paused` event if wanted."""
    closed: bool = False
    """This success closed the breaker: the step runs waiting for the host are due now."""


def after_outcome(row: HostRow, outcome: HostOutcome, *, now: float) -> OutcomeVerdict:
    """Count a failure, or reset the count after a success.

    A failure opens the breaker at the threshold, or reopens it after a failed probe
    with the pause doubled; a success closes it after its probe (or whenever it is
    half open).
    """
    if not outcome.failed:
        if outcome.probe or row.breaker is BreakerState.HALF_OPEN:
            closed = replace(
                row,
                breaker=BreakerState.CLOSED,
                consecutive_failures=0,
                opened_at=None,
                next_probe_at=None,
                pause=None,
            )
            return OutcomeVerdict(closed, closed=row.breaker is not BreakerState.CLOSED)
        return OutcomeVerdict(replace(row, consecutive_failures=0))
    failures = row.consecutive_failures + 1
    counted = replace(row, consecutive_failures=failures, last_error=outcome.error)
    if outcome.probe and row.breaker is BreakerState.HALF_OPEN:
        pause = min(MAX_BREAKER_PAUSE, 2 * (row.pause or outcome.first_pause))
        reopened = replace(
            counted, breaker=BreakerState.OPEN, pause=pause, next_probe_at=now + pause
        )
        return OutcomeVerdict(reopened)
    threshold = outcome.failures_to_open
    if row.breaker is BreakerState.CLOSED and threshold > 0 and failures >= threshold:
        pause = min(MAX_BREAKER_PAUSE, outcome.first_pause)
        opened = replace(
            counted,
            breaker=BreakerState.OPEN,
            opened_at=now,
            pause=pause,
            next_probe_at=now + pause,
        )
        return OutcomeVerdict(opened, opened=True)
    return OutcomeVerdict(counted)


def paused_detail(row: HostRow) -> dict[str, object]:
    """Return a `host.paused` event's detail: failures, next probe (ISO UTC), last error."""
    return {
        "failures": row.consecutive_failures,
        "next_probe_at": _second(row.next_probe_at) if row.next_probe_at is not None else None,
        "last_error": row.last_error,
    }


def _deferred(host: str, delay: float, reason: str, kind: DeferralKind) -> Admission:
    return Admission(deferral=Deferral(host=host, delay=max(0.0, delay), reason=reason, kind=kind))


def _paused(host: str, row: HostRow) -> str:
    probe = _second(row.next_probe_at or 0.0)
    failures = row.consecutive_failures
    if failures <= 0:
        return f"{host} is paused; next probe at {probe}"
    attempts = "attempt" if failures == 1 else "attempts"
    return f"{host} is paused after {failures} failed {attempts} in a row; next probe at {probe}"


def _requests(count: int) -> str:
    return "1 request" if count == 1 else f"{count} requests"


def _rate(rate: float) -> str:
    return "1 request" if rate == 1 else f"{rate:g} requests"


def _second(moment: float) -> str:
    """Format a time as `2026-11-30T10:00:31Z`, rounded up: nothing happens before it."""
    return datetime.fromtimestamp(math.ceil(moment), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
