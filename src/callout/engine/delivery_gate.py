"""Delivery control in the worker: per-host limits and the circuit breaker, asked only when needed.

The database decides the admissions that a limit or a troubled host calls for
(`DeliveryRecords.admit`: one transaction that holds the host's row, so all
workers share one limit); for an untroubled limited host, it hands a worker
spares with an admission, and the worker's next attempts use them
(engine/host_reserve.py). Most attempts go to hosts with neither: for them the
gate must cost nothing. So each worker process keeps, per organization and for
at most a second (`org_cache.py`), its limit rows and its troubled hosts (a
breaker not closed, or failures counted), and an attempt to a host with no
limit on sending and no trouble is sent without a round trip. A breaker opened
by another worker, or a limit set, reaches this process within a second.

After the attempt, `HostGate.outcome` says what the result's transaction must
record for the host (`HostOutcome`): a failure (a 5xx, a timeout, a connection
error: the breaker counts these and nothing else), the slot or probe the
attempt held, or a success to a host that was troubled (it resets the count).
An attempt with nothing to record sends nothing. See docs/delivery-control.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from callout.engine.host_reserve import RESERVE_LIFE, Ask, HostReserves, Reserved
from callout.engine.org_cache import OrgCache
from callout.model.delivery import Deferral
from callout.model.errors import AttemptTimeout, ConnectError
from callout.model.ids import new_id
from callout.steps.attempt import AttemptResult
from callout.store.delivery import (
    ANY_HOST,
    DEFAULT_BREAKER_FAILURES,
    DEFAULT_BREAKER_PAUSE,
    Admission,
    AdmitTicket,
    DeliveryRecords,
    HostLimit,
    HostOutcome,
    HostState,
)
from callout.store.outage import StoreOutage
from callout.store.protocol import StoreUnavailable

log = logging.getLogger("callout.engine")

HOLD_MARGIN = 30.0
"""Seconds a slot or probe outlives the step's timeout before it counts as abandoned: the
worker's lease margin (a worker that died releases it no sooner than its lease runs out)."""

FAILED_TRANSPORT = frozenset({AttemptTimeout.kind, ConnectError.kind})
"""Error types the breaker counts as the host failing, besides a 5xx answer."""

SERVER_ERROR = 500

TIDY_EVERY = 0.1
"""Seconds between looks for reserved slots to give back (`DeliveryControl.keep_reserves`)."""


@dataclass(frozen=True, slots=True)
class OrgHosts:
    """An organization's limit rows and troubled hosts, as this process last read them."""

    limits: Mapping[str, HostLimit]
    troubled: Mapping[str, HostState]

    def limit_for(self, host: str) -> HostLimit | None:
        """Return the host's own limit row, else the organization's `ANY_HOST` row, else None."""
        return self.limits.get(host) or self.limits.get(ANY_HOST)


def host_failure(result: AttemptResult) -> str | None:
    """Return how an attempt's result says the host failed ("http_status 503", "timeout").

    None: the host answered, so for the breaker it is a success, whatever the step
    thinks of the answer (a 4xx, a 429, a body that fails the schema). An answer
    counts before any error: a token fetch that timed out after the API's 401 is
    not the API failing.
    """
    if result.response is not None:
        status = result.response.status
        return f"http_status {status}" if status >= SERVER_ERROR else None
    if result.error is not None and result.error.type in FAILED_TRANSPORT:
        return result.error.type
    return None


class DeliveryControl:
    """One worker process's delivery control: the cached readings, and a gate per attempt."""

    def __init__(
        self,
        records: DeliveryRecords,
        *,
        hold_margin: float = HOLD_MARGIN,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.records = records
        self.hold_margin = hold_margin
        self.monotonic = monotonic
        self.reserves = HostReserves()
        self._refills: set[asyncio.Task[None]] = set()
        self._hosts = OrgCache(self._read, monotonic=monotonic)

    async def _read(self, org_id: str) -> OrgHosts:
        limits, troubled = await asyncio.gather(
            self.records.host_limits(org_id=org_id), self.records.troubled_hosts(org_id=org_id)
        )
        return OrgHosts(limits={limit.host: limit for limit in limits}, troubled=troubled)

    async def hosts(self, org_id: str) -> OrgHosts:
        """Return the organization's limits and troubled hosts, read at most a second ago."""
        return await self._hosts.get(org_id)

    def forget(self, org_id: str) -> None:
        """Read the organization's limits and troubled hosts again at its next attempt."""
        self._hosts.forget(org_id)

    def refill_ahead(self, org_id: str, host: str, limit: HostLimit, *, hold_for: float) -> None:
        """Refill the host's reserve in the background if it runs low (none is under way)."""
        now = self.monotonic()
        ask = self.reserves.of(org_id, host).ahead(limit, hold_for=hold_for, now=now)
        if ask is None:
            return
        ticket = AdmitTicket(
            org_id=org_id,
            host=host,
            attempt_id=new_id("att"),  # no attempt: its slot joins the reserve
            step_run_id="",
            hold_for=hold_for + RESERVE_LIFE,
            limit=ask.limit_for(limit),
            spares=ask.spares,
            returned=ask.returned,
            reserve_only=True,
        )
        task = asyncio.get_running_loop().create_task(self._refill(ticket, ask, now))
        self._refills.add(task)
        task.add_done_callback(self._refills.discard)

    async def _refill(self, ticket: AdmitTicket, ask: Ask, asked_at: float) -> None:
        reserve = self.reserves.of(ticket.org_id, ticket.host)
        try:
            admission = await self.records.admit(ticket)
        except Exception:
            log.debug("a reserve's refill ahead of need failed", exc_info=True)
            return
        finally:
            reserve.refilled()
        own = reserve.fill(ticket, admission, asked_at=asked_at, ask=ask)
        if own is not None:
            reserve.put_back(own, now=asked_at)

    async def give_back(self, *, everything: bool = False) -> None:
        """Give the reserved slots that should go back now (all if `everything`) to the store."""
        if everything and self._refills:
            await asyncio.gather(*self._refills, return_exceptions=True)
        for org_id, host, slots in self.reserves.to_give_back(
            self.monotonic(), everything=everything
        ):
            await self.records.give_back(org_id=org_id, host=host, slot_ids=slots)

    async def keep_reserves(self, stop: asyncio.Event, *, every: float = TIDY_EVERY) -> None:
        """Until `stop`, give back the reserved slots unused, or wanted by step runs waiting.

        A slot that could not be given back (the database out) expires by itself.
        """
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            await self.give_back_quietly(everything=False)

    async def give_back_quietly(self, *, everything: bool) -> None:
        """`give_back`, its failure logged rather than raised: the slots expire by themselves."""
        try:
            await self.give_back(everything=everything)
        except StoreUnavailable:
            pass  # the worker loop tells of the outage; the rows expire by themselves
        except Exception:  # giving slots back early must never end the worker
            log.exception("giving reserved slots back failed; they expire by themselves")

    def gate(
        self,
        *,
        org_id: str,
        attempt_id: str,
        step_run_id: str,
        timeout: float,
        outage: StoreOutage,
    ) -> HostGate:
        """Return the gate of one attempt (a step with `timeout` seconds per attempt)."""
        return HostGate(
            self,
            org_id=org_id,
            attempt_id=attempt_id,
            step_run_id=step_run_id,
            hold_for=timeout + self.hold_margin,
            outage=outage,
        )


class HostGate:
    """Delivery control for one attempt: steps' `DeliveryGate`, then the outcome to record."""

    __slots__ = (
        "_admission",
        "_asked",
        "_attempt_id",
        "_control",
        "_deferral",
        "_hold_for",
        "_host",
        "_keep",
        "_limit",
        "_org_id",
        "_outage",
        "_reserved",
        "_step_run_id",
        "_troubled",
    )

    def __init__(  # noqa: PLR0913 - who the attempt is, and how long it may hold a slot
        self,
        control: DeliveryControl,
        *,
        org_id: str,
        attempt_id: str,
        step_run_id: str,
        hold_for: float,
        outage: StoreOutage,
    ) -> None:
        self._control = control
        self._org_id = org_id
        self._attempt_id = attempt_id
        self._step_run_id = step_run_id
        self._hold_for = hold_for
        self._outage = outage
        self._host: str | None = None
        self._limit: HostLimit | None = None
        self._troubled = False
        self._admission = Admission()
        self._deferral: Deferral | None = None
        self._asked = False
        self._reserved: Reserved | None = None  # what the worker's reserve gave (or will keep)
        self._keep = False

    @property
    def host(self) -> str | None:
        """The host the attempt asked to send to; None until it asked."""
        return self._host

    @property
    def asked(self) -> bool:
        """Whether the database was asked to admit this attempt (else the cache sufficed)."""
        return self._asked

    async def admit(self, host: str) -> Deferral | None:
        """Return None to send now, or the deferral the database decided (see `DeliveryGate`)."""
        if self._host is not None:
            # A second request of the same attempt (a re-send after a 401): what was
            # decided holds, and a slot or probe taken is already this attempt's.
            return self._deferral
        self._host = host
        # Read through the outage: while the database is out the attempt waits, unsent.
        known = await self._outage.ride_out(self._control.hosts, self._org_id)
        self._limit = known.limit_for(host)
        self._troubled = host in known.troubled
        limit = self._limit
        if not self._troubled and (limit is None or not limit.limits_sending):
            return None  # the common path: no limit on sending, no trouble, no round trip
        control = self._control
        reserve = control.reserves.of(self._org_id, host)
        if self._troubled or limit is None:
            # Each attempt to a troubled host is asked for; the free slots go back with it.
            ask = Ask(0, returned=reserve.surrender())
        else:
            turn = await reserve.turn(limit, hold_for=self._hold_for, monotonic=control.monotonic)
            if isinstance(turn, Reserved):
                self._reserved = turn  # admitted from this worker's reserve
                control.refill_ahead(self._org_id, host, limit, hold_for=self._hold_for)
                return None
            ask = turn
        self._asked = True
        untroubled = not self._troubled and limit is not None
        now = control.monotonic()
        ticket = AdmitTicket(
            org_id=self._org_id,
            host=host,
            attempt_id=self._attempt_id,
            step_run_id=self._step_run_id,
            hold_for=self._hold_for + (RESERVE_LIFE if untroubled else 0.0),
            limit=ask.limit_for(limit) if limit is not None else None,
            spares=ask.spares,
            returned=ask.returned,
        )
        try:
            self._admission = await self._outage.ride_out(control.records.admit, ticket)
        finally:
            if ask.spares:
                reserve.refilled()
        if untroubled:
            self._reserved = reserve.fill(ticket, self._admission, asked_at=now, ask=ask)
        self._deferral = self._admission.deferral
        return self._deferral

    def outcome(self, result: AttemptResult, *, announce: bool = False) -> HostOutcome | None:
        """Return what the attempt's result must record for its host, or None: nothing.

        `announce`: the organization wants `host.paused` events (recorded if this
        failure opens the breaker).
        """
        if self._host is None or self._deferral is not None:
            return None  # nothing was sent (not built, or deferred)
        failure = host_failure(result)
        reserved = self._reserved
        if reserved is not None and failure is None:
            # Back to the reserve, unless the host is at its limit: then to a waiter.
            self._keep = not self._control.reserves.of(self._org_id, self._host).crowded
            if self._keep or reserved.slot_id is None:
                return None
        admission = self._admission
        slot = admission.slot or (reserved is not None and reserved.slot_id is not None)
        if failure is None and not (slot or admission.probe or self._troubled):
            return None
        limit = self._limit
        return HostOutcome(
            org_id=self._org_id,
            host=self._host,
            failed=failure is not None,
            error=failure,
            slot=slot,
            slot_id=reserved.slot_id if reserved is not None else None,
            probe=admission.probe,
            failures_to_open=limit.failures_to_open if limit else DEFAULT_BREAKER_FAILURES,
            first_pause=limit.first_pause if limit else DEFAULT_BREAKER_PAUSE,
            announce=announce and failure is not None,
            reset=self._troubled,
        )

    def recorded(self, outcome: HostOutcome | None) -> None:
        """Note that the attempt's result (and `outcome`) was recorded.

        A failure to a host this process did not know as troubled makes the
        organization's next attempt read again: its host is troubled now, so its
        next success resets the count at once rather than up to a second later.
        """
        if self._keep and self._reserved is not None and self._host is not None:
            reserve = self._control.reserves.of(self._org_id, self._host)
            reserve.put_back(self._reserved, now=self._control.monotonic())
        if outcome is not None and outcome.failed and not self._troubled:
            self._control.forget(self._org_id)
