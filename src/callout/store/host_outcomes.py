"""What an attempt's end records for its host, in the result's transaction (SQL).

Run only when the result carries a `HostOutcome` (and only after its fence
held). The slot or probe the attempt held is released. A success touches the
host's row only when it has something to undo (failures counted, a breaker not
closed), and only when its worker knew the host as troubled (`HostOutcome.reset`):
the common success, a slot given back, is the release and the hand-over alone.
A failure is counted on the host's locked row (made if missing) by the rules of
`delivery_rules.py`, which open the breaker at the threshold.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa

from callout.store.delivery import BreakerState, HostOutcome
from callout.store.delivery_rules import OutcomeVerdict, after_outcome
from callout.store.delivery_sql import (
    WAKE_NEXT,
    hand_over_slot,
    locked_host_row,
    read_host_row,
    wake_waiting,
    write_host_row,
)
from callout.store.prepared_sql import prepared

_RELEASE = "DELETE FROM host_slots WHERE attempt_id = :attempt_id"
# Rows without failures and with the breaker closed are left alone (and not locked).
_RESET = (
    "UPDATE host_states SET consecutive_failures = 0, updated_at = :now "
    "WHERE org_id = :org_id AND host = :host "
    "AND (consecutive_failures > 0 OR breaker <> 'closed') RETURNING breaker"
)
# PostgreSQL: both in one round trip (an unreferenced data-modifying CTE still runs);
# a slot (not a probe) also goes to the waiter due soonest in the same statement.
_RELEASE_AND_RESET = "WITH released AS (" + _RELEASE + ") " + _RESET
_HANDED_OVER = "WITH released AS (" + _RELEASE + "), handed AS (" + WAKE_NEXT + ") " + _RESET
_HAND_OVER_ONLY = "WITH released AS (" + _RELEASE + ") " + WAKE_NEXT


@functools.cache
def _sql(text: str) -> sa.TextClause:
    return sa.text(text)


def record_host_outcome(
    conn: sa.Connection, *, attempt_id: str, outcome: HostOutcome, now: str, bound: dict[str, float]
) -> OutcomeVerdict | None:
    """Release the attempt's slot or probe and count its success or failure.

    `now`/`bound`: how the result's statements write the database's now
    (`prepared_sql.now_parameters`). Returns what became of the host's row when it
    changed beyond a reset count (an opened or closed breaker), else None.
    """
    keys = {"org_id": outcome.org_id, "host": outcome.host}
    slot_id = outcome.slot_id or attempt_id  # a slot from its worker's reserve, or its own
    held = outcome.slot or outcome.probe
    if not outcome.failed:
        if not (outcome.reset or outcome.probe):
            if outcome.slot and conn.dialect.name == "postgresql":
                released = {**bound, **keys, "attempt_id": slot_id}
                conn.execute(prepared(_HAND_OVER_ONLY, now), released)
            else:
                _release(conn, slot_id=slot_id, outcome=outcome, now=now, bound=bound)
            return None
        if held and conn.dialect.name == "postgresql":
            statement = prepared(_HANDED_OVER if outcome.slot else _RELEASE_AND_RESET, now)
        else:
            _release(conn, slot_id=slot_id, outcome=outcome, now=now, bound=bound)
            statement = prepared(_RESET, now)
        reset = conn.execute(statement, {**bound, **keys, "attempt_id": slot_id}).first()
        if reset is None:
            return None
        if not (outcome.probe or reset.breaker == BreakerState.HALF_OPEN.value):
            return None
        # The probe answered (or a success reached a half-open host): close and wake.
        row, at = read_host_row(conn, **keys)
        if row is None:  # pragma: no cover - reset just above
            return None
        verdict = after_outcome(row, outcome, now=at)
        write_host_row(conn, **keys, row=verdict.row, now=at)
        wake_waiting(conn, **keys, now=at)
        return verdict
    _release(conn, slot_id=slot_id, outcome=outcome, now=now, bound=bound)
    row, at = locked_host_row(conn, **keys)
    if row is None:
        return None  # no such organization: nothing to count, and the result stands
    verdict = after_outcome(row, outcome, now=at)
    write_host_row(conn, **keys, row=verdict.row, now=at)
    return verdict


def _release(
    conn: sa.Connection, *, slot_id: str, outcome: HostOutcome, now: str, bound: dict[str, float]
) -> None:
    """Release the slot or probe the attempt held; a slot goes to the waiter due soonest."""
    if outcome.slot or outcome.probe:
        conn.execute(_sql(_RELEASE), {"attempt_id": slot_id})
    if outcome.slot:
        hand_over_slot(conn, org_id=outcome.org_id, host=outcome.host, now=now, bound=bound)
