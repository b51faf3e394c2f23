"""Delivery control's SQL: admissions on the host's locked row, limits, states, resuming a host.

Admissions come in batches (`sql_delivery.py`); a host's tickets in a batch are
decided together: the host's `host_states` row is made if missing (insert on
conflict do nothing) and locked (`FOR UPDATE` on PostgreSQL; SQLite has one
writer), its expired slots removed, its live slots counted, and each ticket
decided in turn by `delivery_rules.py` on that row with the database's time.
Every worker on the database is serialised on the row, so a limit holds for all
of them together. While it holds the row, an admission waits for nothing else:
expired slots another transaction holds are skipped (`SKIP LOCKED`), so it can
never be part of a deadlock. The statements are text, prepared once.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from callout.store.database_clock import database_now_number, database_now_value
from callout.store.delivery import (
    Admission,
    AdmitTicket,
    BreakerState,
    HostLimit,
    HostState,
)
from callout.store.delivery_rules import (
    HostRow,
    LiveSlots,
    admission,
    after_expiry,
    jitter,
    with_spares,
)
from callout.store.prepared_sql import POSTGRES_NOW, prepared
from callout.store.protocol import NotFoundError
from callout.store.tables import host_limits, organizations

_ROW = (
    "SELECT breaker, consecutive_failures, opened_at, next_probe_at, pause, last_error, "
    "tokens, refilled_at, rate_horizon, {now} AS now FROM host_states "
    "WHERE org_id = :org_id AND host = :host{lock}"
)
# Only for an organization that exists: a result must not fail on a row it cannot make.
_MISSING_ROW = (
    "INSERT INTO host_states (org_id, host, breaker, consecutive_failures, updated_at) "
    "SELECT id, :host, 'closed', 0, :now FROM organizations WHERE id = :org_id "
    "ON CONFLICT (org_id, host) DO NOTHING"
)
_WRITE_ROW = (
    "UPDATE host_states SET breaker = :breaker, consecutive_failures = :consecutive_failures, "
    "opened_at = :opened_at, next_probe_at = :next_probe_at, pause = :pause, "
    "last_error = :last_error, tokens = :tokens, refilled_at = :refilled_at, "
    "rate_horizon = :rate_horizon, updated_at = :now WHERE org_id = :org_id AND host = :host"
)
_EXPIRED = {
    "sqlite": "DELETE FROM host_slots WHERE org_id = :org_id AND host = :host "
    "AND expires_at <= :now",
    # A slot whose result is being recorded right now is that result's to remove.
    "postgresql": "DELETE FROM host_slots WHERE attempt_id IN (SELECT attempt_id "
    "FROM host_slots WHERE org_id = :org_id AND host = :host AND expires_at <= :now "
    "FOR UPDATE SKIP LOCKED) RETURNING probe",
}
# SQLite (one writer): the live slots counted and the expired ones noted in one read;
# they are removed only when there are some.
_SLOTS = (
    "SELECT coalesce(sum(CASE WHEN expires_at > :now AND NOT probe THEN 1 ELSE 0 END), 0) "
    "AS in_flight, "
    "coalesce(max(CASE WHEN expires_at > :now AND probe THEN 1 ELSE 0 END), 0) AS probing, "
    "coalesce(sum(CASE WHEN expires_at <= :now THEN 1 ELSE 0 END), 0) AS expired, "
    "coalesce(max(CASE WHEN expires_at <= :now AND probe THEN 1 ELSE 0 END), 0) "
    "AS probe_expired FROM host_slots WHERE org_id = :org_id AND host = :host"
)
_LIVE = (
    "SELECT coalesce(sum(CASE WHEN probe THEN 0 ELSE 1 END), 0) AS in_flight, "
    "coalesce(max(CASE WHEN probe THEN 1 ELSE 0 END), 0) AS probing FROM host_slots "
    "WHERE org_id = :org_id AND host = :host AND expires_at > :now"
)
# PostgreSQL: the expired slots removed and the live ones counted in one round trip
# (the count ignores expired rows either way).
_SLOTS_AT_ONCE = (
    "WITH expired AS ("  # noqa: S608 - this module's constant SQL, no value in it
    + _EXPIRED["postgresql"]
    + ") SELECT "
    "coalesce((SELECT bool_or(probe) FROM expired), false) AS probe_expired, "
    "live.in_flight, live.probing FROM (" + _LIVE + ") AS live"
)
# The live slots some of the batch's attempts already hold (an attempt asking again).
_OWN = (
    "SELECT attempt_id, probe FROM host_slots "
    "WHERE attempt_id IN :attempt_ids AND expires_at > :now"
)
_DEFERRALS = "SELECT deferrals FROM step_runs WHERE id = :step_run_id"
_TAKE_SLOT = (
    "INSERT INTO host_slots (attempt_id, org_id, host, probe, expires_at) "
    "VALUES (:attempt_id, :org_id, :host, :probe, :now + :hold_for)"
)
_CLOSE = (
    "UPDATE host_states SET breaker = 'closed', consecutive_failures = 0, opened_at = NULL, "
    "next_probe_at = NULL, pause = NULL, updated_at = :now "
    "WHERE org_id = :org_id AND host = :host"
)
_DROP_PROBES = "DELETE FROM host_slots WHERE org_id = :org_id AND host = :host AND probe"
_WAKE_WAITING = (
    "UPDATE step_runs SET due_at = :now, updated_at = :now "
    "WHERE waiting_for = :host AND status = 'pending' AND due_at > :now "
    "AND run_id IN (SELECT id FROM runs WHERE org_id = :org_id)"
)
# A slot given back goes to the waiter due soonest: it need not sit out its back-off.
# The outer `status = 'pending'` is what PostgreSQL checks again on a row a claim changed
# meanwhile (READ COMMITTED): without it, a claimed step run's lease would be cut short.
WAKE_NEXT = (
    "UPDATE step_runs SET due_at = :now, updated_at = :now "
    "WHERE status = 'pending' AND id = ("
    "SELECT id FROM step_runs WHERE waiting_for = :host AND status = 'pending' "
    "AND due_at > :now AND run_id IN (SELECT id FROM runs WHERE org_id = :org_id) "
    "ORDER BY due_at LIMIT 1)"
)
# Slots a worker's reserve gave back go to as many waiters, those due soonest.
_WAKE_SOME = (
    "UPDATE step_runs SET due_at = :now, updated_at = :now "
    "WHERE status = 'pending' AND id IN ("
    "SELECT id FROM step_runs WHERE waiting_for = :host AND status = 'pending' "
    "AND due_at > :now AND run_id IN (SELECT id FROM runs WHERE org_id = :org_id) "
    "ORDER BY due_at LIMIT :count)"
)
_GIVE_BACK = (
    "DELETE FROM host_slots WHERE org_id = :org_id AND host = :host AND attempt_id IN :slot_ids"
)
_STATES = (
    "SELECT host, breaker, consecutive_failures, opened_at, next_probe_at, last_error, "
    "updated_at, org_id FROM host_states WHERE {where}"
)
_IN_FLIGHT = (
    "SELECT host, count(*) AS held FROM host_slots WHERE org_id = :org_id "
    "AND NOT probe AND expires_at > :now GROUP BY host"
)
_WAITING = (
    "SELECT step_runs.waiting_for AS host, count(*) AS held FROM step_runs "
    "JOIN runs ON runs.id = step_runs.run_id WHERE runs.org_id = :org_id "
    "AND step_runs.waiting_for IS NOT NULL AND step_runs.status = 'pending' "
    "GROUP BY step_runs.waiting_for"
)


@functools.cache
def _sql(text: str) -> sa.TextClause:
    return sa.text(text)


@functools.cache
def _own_sql() -> sa.TextClause:
    return sa.text(_OWN).bindparams(sa.bindparam("attempt_ids", expanding=True))


@functools.cache
def _give_back_sql() -> sa.TextClause:
    return sa.text(_GIVE_BACK).bindparams(sa.bindparam("slot_ids", expanding=True))


def _row_query(conn: sa.Connection, *, lock: bool) -> tuple[sa.TextClause, dict[str, Any]]:
    now = database_now_value(conn)
    locked = " FOR UPDATE" if lock and conn.dialect.name == "postgresql" else ""
    if now is None:
        return _sql(_ROW.format(now=POSTGRES_NOW, lock=locked)), {}
    return _sql(_ROW.format(now=":now", lock=locked)), {"now": now}


def _host_row(row: Any) -> HostRow:
    return HostRow(
        breaker=BreakerState(row.breaker),
        consecutive_failures=row.consecutive_failures,
        opened_at=row.opened_at,
        next_probe_at=row.next_probe_at,
        pause=row.pause,
        last_error=row.last_error,
        tokens=row.tokens,
        refilled_at=row.refilled_at,
        rate_horizon=row.rate_horizon,
    )


def read_host_row(conn: sa.Connection, *, org_id: str, host: str) -> tuple[HostRow | None, float]:
    """Return a host's row locked (None if it has none) and the database's now."""
    query, bound = _row_query(conn, lock=True)
    row = conn.execute(query, {**bound, "org_id": org_id, "host": host}).one_or_none()
    if row is not None:
        return _host_row(row), float(row.now)
    return None, database_now_number(conn)


def locked_host_row(conn: sa.Connection, *, org_id: str, host: str) -> tuple[HostRow | None, float]:
    """Return a host's row, made if missing, locked for this transaction; and the database's now.

    None when the organization does not exist (no row can be made for it).
    """
    found, now = read_host_row(conn, org_id=org_id, host=host)
    if found is not None:
        return found, now
    conn.execute(_sql(_MISSING_ROW), {"org_id": org_id, "host": host, "now": now})
    return read_host_row(conn, org_id=org_id, host=host)


def write_host_row(
    conn: sa.Connection, *, org_id: str, host: str, row: HostRow, now: float
) -> None:
    """Write a host's row as the rules left it (stamped `now`)."""
    conn.execute(
        _sql(_WRITE_ROW),
        {
            "org_id": org_id,
            "host": host,
            "now": now,
            "breaker": row.breaker.value,
            "consecutive_failures": row.consecutive_failures,
            "opened_at": row.opened_at,
            "next_probe_at": row.next_probe_at,
            "pause": row.pause,
            "last_error": row.last_error,
            "tokens": row.tokens,
            "refilled_at": row.refilled_at,
            "rate_horizon": row.rate_horizon,
        },
    )


def wake_waiting(conn: sa.Connection, *, org_id: str, host: str, now: float) -> int:
    """Make the organization's step runs waiting for `host` due now; return how many."""
    woken = conn.execute(_sql(_WAKE_WAITING), {"org_id": org_id, "host": host, "now": now})
    return int(woken.rowcount)


def hand_over_slot(conn: sa.Connection, *, org_id: str, host: str, now: str, bound: Any) -> None:
    """Make the step run waiting for `host` that is due soonest due now (a slot came free).

    `now`/`bound`: how the result's statements write the database's now. Without it a
    waiter would sit out its back-off (up to `MAX_SLOT_BACKOFF`) while the slot idles.
    """
    conn.execute(prepared(WAKE_NEXT, now), {**bound, "org_id": org_id, "host": host})


def give_back(conn: sa.Connection, *, org_id: str, host: str, slot_ids: tuple[str, ...]) -> int:
    """Release slots a worker's reserve held; as many waiters, due soonest, are due now.

    Returns how many slots were still held (an expired one may be gone already).
    """
    if not slot_ids:
        return 0
    keys = {"org_id": org_id, "host": host}
    freed = int(conn.execute(_give_back_sql(), {**keys, "slot_ids": list(slot_ids)}).rowcount)
    if freed:
        now = database_now_number(conn)
        conn.execute(_sql(_WAKE_SOME), {**keys, "now": now, "count": freed})
    return freed


def admit_many(conn: sa.Connection, tickets: list[AdmitTicket]) -> list[Admission | NotFoundError]:
    """Decide, ticket by ticket in order, whether each attempt may go (`delivery_rules.py`).

    The tickets of one host are decided together on its row, held once: the row
    read, expired slots removed, live slots counted, then each ticket decided on the
    row as the ones before it left it; the row written and the slots taken at the
    end, in one statement each. Hosts are held in (organization, host) order, the
    same in every worker. An attempt that already holds a live slot (asked again)
    keeps it. A ticket of an organization that does not exist gets a NotFoundError.
    """
    answers: dict[int, Admission | NotFoundError] = {}
    hosts: dict[tuple[str, str], list[int]] = {}
    for index, ticket in enumerate(tickets):
        hosts.setdefault((ticket.org_id, ticket.host), []).append(index)
    for (org_id, host), indexes in sorted(hosts.items()):
        group = [tickets[index] for index in indexes]
        decided = _admit_to_host(conn, org_id=org_id, host=host, tickets=group)
        answers.update(zip(indexes, decided, strict=True))
    return [answers[index] for index in range(len(tickets))]


def _admit_to_host(
    conn: sa.Connection, *, org_id: str, host: str, tickets: list[AdmitTicket]
) -> list[Admission | NotFoundError]:
    keys = {"org_id": org_id, "host": host}
    row, now = locked_host_row(conn, **keys)
    if row is None:
        return [NotFoundError(f"no organization {org_id}") for _ in tickets]
    returned = tuple(slot for ticket in tickets for slot in ticket.returned)
    freed = int(
        conn.execute(_give_back_sql(), {**keys, "slot_ids": list(returned)}).rowcount
        if returned
        else 0
    )
    probe_expired, slots = False, LiveSlots()
    if row.breaker is not BreakerState.CLOSED or any(_counts_slots(ticket) for ticket in tickets):
        # Under a closed breaker, what is in flight matters only to an in-flight limit
        # (a worker's refill of rate tokens alone needs no count).
        probe_expired, slots = _live_slots(conn, keys, now=now)
    # A refill ahead of need has a fresh id: it cannot hold a slot already.
    ids = [ticket.attempt_id for ticket in tickets if not ticket.reserve_only]
    own: dict[str, bool] = (
        {
            found.attempt_id: bool(found.probe)
            for found in conn.execute(_own_sql(), {"attempt_ids": ids, "now": now})
        }
        if ids
        else {}
    )
    decided = after_expiry(row, probe_expired=probe_expired, now=now)
    answers: list[Admission | NotFoundError] = []
    taken: list[dict[str, Any]] = []
    for ticket in tickets:
        if ticket.attempt_id in own:
            probe = own[ticket.attempt_id]
            answers.append(Admission(slot=not probe, probe=probe))
            continue

        def deferrals(step_run_id: str = ticket.step_run_id) -> int:
            found = conn.execute(_sql(_DEFERRALS), {"step_run_id": step_run_id}).scalar()
            return int(found or 0)

        verdict = admission(
            decided, ticket, now=now, slots=slots, deferrals=deferrals, spread=jitter()
        )
        decided, answer = verdict.row, verdict.admission
        held = [ticket.attempt_id] if answer.slot or answer.probe else []
        if answer.slot or answer.probe:
            own[ticket.attempt_id] = answer.probe
            slots = LiveSlots(
                in_flight=slots.in_flight + (0 if answer.probe else 1),
                probing=slots.probing or answer.probe,
            )
        answer, decided, slots, spare_ids = with_spares(answer, decided, ticket, now, slots)
        answers.append(answer)
        taken.extend(
            {
                **keys,
                "now": now,
                "attempt_id": slot,
                "probe": answer.probe,
                "hold_for": ticket.hold_for,
            }
            for slot in [*held, *spare_ids]
        )
    if decided != row:
        write_host_row(conn, **keys, row=decided, now=now)
    if taken:
        conn.execute(_sql(_TAKE_SLOT), taken)
    if freed > len(taken):
        # The reserve gave back more than was taken again: the rest go to waiters.
        conn.execute(_sql(_WAKE_SOME), {**keys, "now": now, "count": freed - len(taken)})
    return answers


def _counts_slots(ticket: AdmitTicket) -> bool:
    return ticket.limit is not None and ticket.limit.max_in_flight is not None


def _live_slots(conn: sa.Connection, keys: dict[str, str], *, now: float) -> tuple[bool, LiveSlots]:
    """Remove the host's expired slots and count its live ones: (a probe expired, the count)."""
    if conn.dialect.name == "postgresql":
        live = conn.execute(_sql(_SLOTS_AT_ONCE), {**keys, "now": now}).one()
        probe_expired = bool(live.probe_expired)
    else:
        live = conn.execute(_sql(_SLOTS), {**keys, "now": now}).one()
        probe_expired = bool(live.probe_expired)
        if live.expired:
            conn.execute(_sql(_EXPIRED["sqlite"]), {**keys, "now": now})
    return probe_expired, LiveSlots(in_flight=int(live.in_flight), probing=bool(live.probing))


def resume_host(conn: sa.Connection, *, org_id: str, host: str) -> HostState:
    """Close a host's breaker now; its step runs waiting are due at once. NotFoundError if none."""
    keys = {"org_id": org_id, "host": host}
    found, now = read_host_row(conn, **keys)
    if found is None:
        raise NotFoundError(f"no state for host {host}")
    conn.execute(_sql(_CLOSE), {**keys, "now": now})
    conn.execute(_sql(_DROP_PROBES), keys)
    wake_waiting(conn, **keys, now=now)
    return next(state for state in host_states(conn, org_id=org_id) if state.host == host)


def _state(row: Any, *, in_flight: int = 0, waiting: int = 0) -> HostState:
    return HostState(
        org_id=row.org_id,
        host=row.host,
        breaker=BreakerState(row.breaker),
        consecutive_failures=row.consecutive_failures,
        opened_at=row.opened_at,
        next_probe_at=row.next_probe_at,
        last_error=row.last_error,
        in_flight=in_flight,
        waiting=waiting,
        updated_at=row.updated_at,
    )


def host_states(conn: sa.Connection, *, org_id: str) -> list[HostState]:
    """Return every host of the organization with a state, live slots or waiting step runs."""
    now = database_now_number(conn)
    rows = {
        row.host: row
        for row in conn.execute(_sql(_STATES.format(where="org_id = :org_id")), {"org_id": org_id})
    }
    held: dict[str, int] = {
        row.host: int(row.held)
        for row in conn.execute(_sql(_IN_FLIGHT), {"org_id": org_id, "now": now})
    }
    waiting: dict[str, int] = {
        row.host: int(row.held) for row in conn.execute(_sql(_WAITING), {"org_id": org_id})
    }
    states = []
    for host in sorted({*rows, *held, *waiting}):
        in_flight, waits = held.get(host, 0), waiting.get(host, 0)
        if host in rows:
            states.append(_state(rows[host], in_flight=in_flight, waiting=waits))
        else:
            states.append(HostState(org_id=org_id, host=host, in_flight=in_flight, waiting=waits))
    return states


def troubled_hosts(conn: sa.Connection, *, org_id: str) -> dict[str, HostState]:
    """Return the organization's hosts whose breaker is not closed or that have failures counted.

    Their breaker state only (no counts): the engine's cheap look before each attempt.
    """
    where = "org_id = :org_id AND (breaker <> 'closed' OR consecutive_failures > 0)"
    rows = conn.execute(_sql(_STATES.format(where=where)), {"org_id": org_id})
    return {row.host: _state(row) for row in sorted(rows, key=lambda row: row.host)}


def paused_hosts(conn: sa.Connection) -> list[HostState]:
    """Return every organization's hosts whose breaker is open or half open."""
    rows = conn.execute(_sql(_STATES.format(where="breaker <> 'closed'")))
    return sorted((_state(row) for row in rows), key=lambda state: (state.org_id, state.host))


def _limit(row: Any) -> HostLimit:
    return HostLimit(
        org_id=row.org_id,
        host=row.host,
        max_in_flight=row.max_in_flight,
        rate_per_second=row.rate_per_second,
        burst=row.burst,
        breaker_failures=row.breaker_failures,
        breaker_pause=row.breaker_pause,
        updated_at=row.updated_at,
    )


def list_host_limits(conn: sa.Connection, *, org_id: str) -> list[HostLimit]:
    """Return an organization's limit rows, by host."""
    rows = conn.execute(sa.select(host_limits).where(host_limits.c.org_id == org_id))
    return sorted((_limit(row) for row in rows), key=lambda limit: limit.host)


def set_host_limit(conn: sa.Connection, limit: HostLimit) -> HostLimit:
    """Create or replace a host's limit row, stamped with the database's time.

    NotFoundError when the organization does not exist.
    """
    known = conn.execute(
        sa.select(organizations.c.id).where(organizations.c.id == limit.org_id)
    ).first()
    if known is None:
        raise NotFoundError(f"no organization {limit.org_id}")
    now = database_now_number(conn)
    values = {
        "max_in_flight": limit.max_in_flight,
        "rate_per_second": limit.rate_per_second,
        "burst": limit.burst,
        "breaker_failures": limit.breaker_failures,
        "breaker_pause": limit.breaker_pause,
        "updated_at": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(host_limits)
        .values(org_id=limit.org_id, host=limit.host, created_at=now, **values)
        .on_conflict_do_update(index_elements=["org_id", "host"], set_=values)
    )
    row = conn.execute(
        sa.select(host_limits)
        .where(host_limits.c.org_id == limit.org_id)
        .where(host_limits.c.host == limit.host)
    ).one()
    return _limit(row)


def delete_host_limit(conn: sa.Connection, *, org_id: str, host: str) -> None:
    """Remove a host's limit row; NotFoundError when it has none."""
    gone = conn.execute(
        sa.delete(host_limits)
        .where(host_limits.c.org_id == org_id)
        .where(host_limits.c.host == host)
    )
    if gone.rowcount == 0:
        raise NotFoundError(f"no limit for host {host}")
