"""`DeliveryRecords` in memory (unit tests), passing the same contract tests as SQL.

The same rules decide (`delivery_rules.py`), on rows kept here: a host's row,
its slots (expiring on their own), its limit rows. What delivery control reads
of step runs (how often one was held back, which wait for a host) and the
result's part (`record_outcome`) go through the memory store, as SQL shares its
tables. Times are the store's clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from callout.store.delivery import (
    Admission,
    AdmitTicket,
    BreakerState,
    HostLimit,
    HostOutcome,
    HostState,
)
from callout.store.delivery_rules import (
    HostRow,
    LiveSlots,
    OutcomeVerdict,
    admission,
    after_expiry,
    after_outcome,
    jitter,
    with_spares,
)
from callout.store.protocol import NotFoundError

if TYPE_CHECKING:
    from callout.model.clock import Clock
    from callout.store.memory import MemoryStore

_Host = tuple[str, str]  # (organization, host)


@dataclass(slots=True)
class _State:
    row: HostRow
    updated_at: float


@dataclass(frozen=True, slots=True)
class _Slot:
    org_id: str
    host: str
    probe: bool
    expires_at: float


class MemoryDelivery:
    """Per-host limits, breaker states and admissions in memory."""

    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock  # the database's clock
        self._limits: dict[_Host, HostLimit] = {}
        self._states: dict[_Host, _State] = {}
        self._slots: dict[str, _Slot] = {}  # by attempt id

    async def host_limits(self, *, org_id: str) -> list[HostLimit]:
        """Return an organization's limit rows, by host."""
        return [self._limits[key] for key in sorted(self._limits) if key[0] == org_id]

    async def set_host_limit(self, limit: HostLimit) -> HostLimit:
        """Create or replace the limit row of `limit.host` (stamped with the store's time)."""
        await self._store.accounts.get_organization(org_id=limit.org_id)
        stored = replace(limit, updated_at=self._clock.now())
        self._limits[limit.org_id, limit.host] = stored
        return stored

    async def delete_host_limit(self, *, org_id: str, host: str) -> None:
        """Remove a host's limit row; NotFoundError when it has none."""
        if self._limits.pop((org_id, host), None) is None:
            raise NotFoundError(f"no limit for host {host}")

    def _live(self, org_id: str, host: str, now: float) -> list[tuple[str, _Slot]]:
        return [
            (attempt_id, slot)
            for attempt_id, slot in self._slots.items()
            if (slot.org_id, slot.host) == (org_id, host) and slot.expires_at > now
        ]

    def _state(self, key: _Host, state: _State, *, in_flight: int, waiting: int) -> HostState:
        row = state.row
        return HostState(
            org_id=key[0],
            host=key[1],
            breaker=row.breaker,
            consecutive_failures=row.consecutive_failures,
            opened_at=row.opened_at,
            next_probe_at=row.next_probe_at,
            last_error=row.last_error,
            in_flight=in_flight,
            waiting=waiting,
            updated_at=state.updated_at,
        )

    async def host_states(self, *, org_id: str) -> list[HostState]:
        """Return every host with a breaker state, slots or waiting step runs, by host."""
        now = self._clock.now()
        held = Counter(
            slot.host
            for slot in self._slots.values()
            if slot.org_id == org_id and not slot.probe and slot.expires_at > now
        )
        waiting = self._store.waiting_counts(org_id)
        known = {host for org, host in self._states if org == org_id}
        states = []
        for host in sorted(known | set(held) | set(waiting)):
            in_flight, waits = held[host], waiting[host]
            state = self._states.get((org_id, host))
            if state is None:
                states.append(
                    HostState(org_id=org_id, host=host, in_flight=in_flight, waiting=waits)
                )
            else:
                states.append(
                    self._state((org_id, host), state, in_flight=in_flight, waiting=waits)
                )
        return states

    async def troubled_hosts(self, *, org_id: str) -> dict[str, HostState]:
        """Return the hosts whose breaker is not closed or that have failures counted."""
        return {
            key[1]: self._state(key, state, in_flight=0, waiting=0)
            for key, state in sorted(self._states.items())
            if key[0] == org_id
            and (state.row.breaker is not BreakerState.CLOSED or state.row.consecutive_failures)
        }

    async def paused_hosts(self) -> list[HostState]:
        """Return the hosts of every organization whose breaker is open or half open."""
        return [
            self._state(key, state, in_flight=0, waiting=0)
            for key, state in sorted(self._states.items())
            if state.row.breaker is not BreakerState.CLOSED
        ]

    def _row(self, key: _Host, now: float) -> _State:
        return self._states.setdefault(key, _State(HostRow(), now))

    async def admit(self, ticket: AdmitTicket) -> Admission:
        """Decide whether the attempt may go now (`delivery_rules.admission`)."""
        await self._store.accounts.get_organization(org_id=ticket.org_id)  # NotFoundError
        now = self._clock.now()
        key = (ticket.org_id, ticket.host)
        state = self._row(key, now)
        freed = self._release(key, ticket.returned)
        expired = [
            attempt_id
            for attempt_id, slot in self._slots.items()
            if (slot.org_id, slot.host) == key and slot.expires_at <= now
        ]
        probe_expired = any(self._slots.pop(attempt_id).probe for attempt_id in expired)
        checked = after_expiry(state.row, probe_expired=probe_expired, now=now)
        live = self._live(*key, now)
        own = next((slot for attempt_id, slot in live if attempt_id == ticket.attempt_id), None)
        if own is not None:
            return Admission(slot=not own.probe, probe=own.probe)
        slots = LiveSlots(
            in_flight=sum(1 for _, slot in live if not slot.probe),
            probing=any(slot.probe for _, slot in live),
        )
        verdict = admission(
            checked,
            ticket,
            now=now,
            slots=slots,
            deferrals=lambda: self._store.deferrals_of(ticket.step_run_id),
            spread=jitter(),
        )
        taken = verdict.admission
        if taken.slot:
            slots = replace(slots, in_flight=slots.in_flight + 1)
        taken, row, _, spare_ids = with_spares(taken, verdict.row, ticket, now, slots)
        if row != state.row:
            state.row, state.updated_at = row, now
        held = [ticket.attempt_id] if taken.slot or taken.probe else []
        for slot_id in [*held, *spare_ids]:
            self._slots[slot_id] = _Slot(
                ticket.org_id, ticket.host, taken.probe, now + ticket.hold_for
            )
        for _ in range(freed - len(held) - len(spare_ids)):
            self._store.wake_next(*key, now)  # what was given back and not taken again
        return taken

    def _release(self, key: _Host, slot_ids: tuple[str, ...]) -> int:
        """Release the host's slots of `slot_ids` still held; return how many."""
        released = [
            slot_id
            for slot_id in slot_ids
            if (found := self._slots.get(slot_id)) is not None and (found.org_id, found.host) == key
        ]
        for slot_id in released:
            del self._slots[slot_id]
        return len(released)

    async def give_back(self, *, org_id: str, host: str, slot_ids: tuple[str, ...]) -> None:
        """Release slots a worker's reserve held and make as many step runs waiting due now."""
        now = self._clock.now()
        for _ in range(self._release((org_id, host), slot_ids)):
            self._store.wake_next(org_id, host, now)

    async def resume_host(self, *, org_id: str, host: str) -> HostState:
        """Close a host's breaker now and make the step runs waiting for it due at once."""
        state = self._states.get((org_id, host))
        if state is None:
            raise NotFoundError(f"no state for host {host}")
        now = self._clock.now()
        state.row = replace(
            state.row,
            breaker=BreakerState.CLOSED,
            consecutive_failures=0,
            opened_at=None,
            next_probe_at=None,
            pause=None,
        )
        state.updated_at = now
        for attempt_id, slot in list(self._slots.items()):
            if (slot.org_id, slot.host) == (org_id, host) and slot.probe:
                del self._slots[attempt_id]
        self._store.wake_waiting(org_id, host, now)
        return next(found for found in await self.host_states(org_id=org_id) if found.host == host)

    def record_outcome(
        self, attempt_id: str, outcome: HostOutcome, now: float
    ) -> OutcomeVerdict | None:
        """Record an attempt's end for its host (the result's part, as `host_outcomes.py`).

        Returns what became of the host's row when the breaker opened or closed, or a
        failure was counted; None when nothing beyond a reset count changed.
        """
        self._slots.pop(outcome.slot_id or attempt_id, None)
        key = (outcome.org_id, outcome.host)
        if outcome.slot:
            self._store.wake_next(*key, now)  # the slot goes to the waiter due soonest
        state = self._states.get(key)
        if not outcome.failed:
            if state is None or not (outcome.reset or outcome.probe):
                return None
            row = state.row
            if not row.consecutive_failures and row.breaker is BreakerState.CLOSED:
                return None
            verdict = after_outcome(row, outcome, now=now)
            state.row, state.updated_at = verdict.row, now
            if verdict.closed:
                self._store.wake_waiting(*key, now)
                return verdict
            return None
        state = self._row(key, now)
        verdict = after_outcome(state.row, outcome, now=now)
        state.row, state.updated_at = verdict.row, now
        return verdict
