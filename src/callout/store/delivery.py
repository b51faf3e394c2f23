"""Delivery control's records: per-host limits, the circuit breaker's state, in-flight slots.

An organization may limit, per host, the requests in flight and their rate;
every worker on the database respects the limit together, because the
database decides each admission (`DeliveryRecords.admit`, one transaction
that holds the host's row), or hands a worker spare ones it counts like any
other (`AdmitTicket.spares`, engine/host_reserve.py). The circuit breaker counts consecutive failed
attempts to a host (5xx, timeouts, connection errors); at the threshold it
opens: attempts to the host wait until the next probe, one probe is sent
(half open), and its success closes the breaker. An operator can resume a
paused host at once. See docs/delivery-control.md.

Hosts are keyed by name, lower case, without the port: one partner's API on
several ports is one partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from callout.model.delivery import Deferral

ANY_HOST = "*"
"""A limit row for this host applies to every host without its own row (each host on its own)."""

DEFAULT_BREAKER_FAILURES = 5
"""Consecutive failed attempts to a host that open its breaker (a limit row may change it;
0 turns the breaker off for that host)."""

DEFAULT_BREAKER_PAUSE = 30.0
"""Seconds a newly opened breaker waits before its first probe; doubled after each failed
probe, up to `MAX_BREAKER_PAUSE`."""

MAX_BREAKER_PAUSE = 600.0
"""The longest pause between probes."""


class BreakerState(StrEnum):
    """Where a host's circuit breaker stands."""

    CLOSED = "closed"
    OPEN = "open"  # attempts wait for the next probe
    HALF_OPEN = "half_open"  # one probe is in flight; the rest wait for its answer


@dataclass(frozen=True, slots=True)
class HostLimit:
    """An organization's limits for one host (or `ANY_HOST`). None: no such limit / the default."""

    org_id: str
    host: str
    max_in_flight: int | None = None
    rate_per_second: float | None = None
    burst: int | None = None
    """Requests the rate allows at once after an idle spell (None: 1)."""
    breaker_failures: int | None = None
    """Consecutive failures that open the breaker (None: `DEFAULT_BREAKER_FAILURES`; 0: off)."""
    breaker_pause: float | None = None
    """Seconds before the first probe (None: `DEFAULT_BREAKER_PAUSE`)."""
    updated_at: float | None = None

    @property
    def failures_to_open(self) -> int:
        """The breaker's threshold for this host (0: never opens)."""
        return DEFAULT_BREAKER_FAILURES if self.breaker_failures is None else self.breaker_failures

    @property
    def first_pause(self) -> float:
        """Seconds an opened breaker waits before its first probe."""
        return DEFAULT_BREAKER_PAUSE if self.breaker_pause is None else self.breaker_pause

    @property
    def limits_sending(self) -> bool:
        """Whether every attempt to the host must be admitted by the database."""
        return self.max_in_flight is not None or self.rate_per_second is not None


@dataclass(frozen=True, slots=True)
class HostState:
    """A host as delivery control sees it: its breaker and what is in flight to it."""

    org_id: str
    host: str
    breaker: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float | None = None
    next_probe_at: float | None = None
    """When the next probe may go (an open breaker); None when closed."""
    last_error: str | None = None
    """The last failure's type and HTTP status, e.g. "http_status 503" or "timeout"."""
    in_flight: int = 0
    """Live slots held (only counted where the host has an in-flight limit): attempts in
    flight, and slots workers reserved for their next attempts (engine/host_reserve.py)."""
    waiting: int = 0
    """Step runs deferred for this host and not yet sent."""
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class AdmitTicket:
    """An attempt asking to be sent to a host now (`DeliveryRecords.admit`)."""

    org_id: str
    host: str
    attempt_id: str
    step_run_id: str
    hold_for: float
    """Seconds a slot (or the probe) is held before it counts as abandoned: the step's
    timeout plus the worker's margin. The result releases it earlier."""
    limit: HostLimit | None
    """The host's limit row (or `ANY_HOST`'s), as the worker last read it; None: none."""
    spares: int = 0
    """Admissions to take beyond the attempt's own, for its worker's reserve
    (engine/host_reserve.py): each a slot (where the host limits what is in flight)
    and a token (where it has a rate). Taken only while the host is untroubled, and
    only as far as the limit and the rate allow now; never deferred, never a turn."""
    returned: tuple[str, ...] = ()
    """Slots the worker's reserve gives back before the ticket is decided."""
    reserve_only: bool = False
    """No attempt waits on it: a worker's refill asked ahead of need (its own admission
    a spare too). Refused, it writes nothing: no rate turn is handed to nobody."""


@dataclass(frozen=True, slots=True)
class Admission:
    """The database's answer to an `AdmitTicket`."""

    deferral: Deferral | None = None
    """Set when the attempt must wait; then nothing was taken."""
    slot: bool = False
    """An in-flight slot was taken for the attempt (released by its result)."""
    probe: bool = False
    """The attempt is the half-open breaker's probe (its result closes or reopens it)."""
    spares: int = 0
    """Spare admissions taken for the worker's reserve (`AdmitTicket.spares`); where the
    host limits what is in flight each holds a slot, `spare_slot_id(attempt_id, n)`."""
    crowded: bool = False
    """The in-flight limit stopped the spares short, or deferred the attempt: the host is
    at its limit, so the worker's reserve gives slots back rather than keeping them."""

    @property
    def admitted(self) -> bool:
        """Whether the attempt may be sent now."""
        return self.deferral is None


@dataclass(frozen=True, slots=True)
class HostOutcome:
    """What an attempt's end tells delivery control; recorded in the result's transaction.

    Carried by `FinishedAttempt.host`. Only sent when there is something to record:
    a failure, a slot or probe to release, or a success after failures.
    """

    org_id: str
    host: str
    failed: bool
    """A 5xx, a timeout or a connection error (the breaker counts it); else a success."""
    error: str | None = None
    """The failure's type and HTTP status, for `HostState.last_error`."""
    slot: bool = False
    probe: bool = False
    failures_to_open: int = DEFAULT_BREAKER_FAILURES
    first_pause: float = DEFAULT_BREAKER_PAUSE
    announce: bool = False
    """Record a `host.paused` run event if this failure opens the breaker."""
    slot_id: str | None = None
    """The slot to release when it is not the attempt's own (one from its worker's
    reserve); None: the slot taken under the attempt's id."""
    reset: bool = True
    """A success resets the host's failure count. False: the worker knew the host as
    untroubled a moment ago (`engine/org_cache.py`), so a success only gives its slot
    back, as a success to an unlimited host writes nothing (docs/delivery-control.md)."""


def spare_slot_id(attempt_id: str, number: int) -> str:
    """Return the id of the `number`th spare slot (from 1) taken with `attempt_id`'s admission."""
    return f"{attempt_id}+{number}"


class DeliveryRecords(Protocol):
    """Per-host limits, breaker states and admissions; the same rules on SQL and in memory."""

    async def host_limits(self, *, org_id: str) -> list[HostLimit]:
        """Return an organization's limit rows, by host."""
        ...

    async def set_host_limit(self, limit: HostLimit) -> HostLimit:
        """Create or replace the limit row of `limit.host` (stamped with the store's time)."""
        ...

    async def delete_host_limit(self, *, org_id: str, host: str) -> None:
        """Remove a host's limit row; NotFoundError when it has none."""
        ...

    async def host_states(self, *, org_id: str) -> list[HostState]:
        """Return every host with a breaker state, slots or waiting step runs, by host."""
        ...

    async def troubled_hosts(self, *, org_id: str) -> dict[str, HostState]:
        """Return the hosts whose breaker is not closed or that have failures counted.

        The engine reads this at most once a second per organization: an attempt to
        any other host with no limit is sent without asking the database.
        """
        ...

    async def admit(self, ticket: AdmitTicket) -> Admission:
        """Decide, in one transaction holding the host's row, whether the attempt may go.

        In order: an open breaker defers until its next probe (after it, the first
        attempt becomes the probe and the breaker half open; others wait for the probe's
        answer); a full in-flight limit defers briefly (backing off per step run); an
        empty rate bucket defers until the attempt's turn (turns spread at the rate, so
        waiting step runs do not all come back at once). Nothing is taken when deferred.
        """
        ...

    async def give_back(self, *, org_id: str, host: str, slot_ids: tuple[str, ...]) -> None:
        """Release slots a worker's reserve held and make as many step runs waiting due now."""
        ...

    async def resume_host(self, *, org_id: str, host: str) -> HostState:
        """Close a host's breaker now and make the step runs waiting for it due at once.

        NotFoundError when the organization has no state for the host.
        """
        ...

    async def paused_hosts(self) -> list[HostState]:
        """Return the hosts of every organization whose breaker is open or half open (metrics)."""
        ...
