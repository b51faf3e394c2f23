"""Delivery control in the worker: per-host limits and the circuit breaker, asked only when needed.

The database decides every admission that a limit or a troubled host calls for
(`DeliveryRecords.admit`: one transaction that holds the host's row, so all
workers share one limit). Most attempts go to hosts with neither: for them the
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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from callout.engine.org_cache import OrgCache
from callout.model.delivery import Deferral
from callout.model.errors import AttemptTimeout, ConnectError
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

HOLD_MARGIN = 30.0
"""Seconds a slot or probe outlives the step's timeout before it counts as abandoned: the
worker's lease margin (a worker that died releases it no sooner than its lease runs out)."""

FAILED_TRANSPORT = frozenset({AttemptTimeout.kind, ConnectError.kind})
"""Error types the breaker counts as the host failing, besides a 5xx answer."""

SERVER_ERROR = 500


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
        "_limit",
        "_org_id",
        "_outage",
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
        if not self._troubled and (self._limit is None or not self._limit.limits_sending):
            return None  # the common path: no limit on sending, no trouble, no round trip
        self._asked = True
        ticket = AdmitTicket(
            org_id=self._org_id,
            host=host,
            attempt_id=self._attempt_id,
            step_run_id=self._step_run_id,
            hold_for=self._hold_for,
            limit=self._limit,
        )
        self._admission = await self._outage.ride_out(self._control.records.admit, ticket)
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
        admission = self._admission
        if failure is None and not (admission.slot or admission.probe or self._troubled):
            return None
        limit = self._limit
        return HostOutcome(
            org_id=self._org_id,
            host=self._host,
            failed=failure is not None,
            error=failure,
            slot=admission.slot,
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
        if outcome is not None and outcome.failed and not self._troubled:
            self._control.forget(self._org_id)
