"""Spare admissions counted at once give the answer of deciding them one by one.

`delivery_rules.spare_admissions` counts a worker's spares in one step; the oracle
here decides them as attempts of their own (`admission`), one at a time, until the
first that would wait, keeping nothing of that refusal. Both must agree on the
count, the row left and whether the in-flight limit ended them, over a grid of
limits, slots in flight, buckets and times.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from callout.store.delivery import AdmitTicket, BreakerState, HostLimit
from callout.store.delivery_rules import HostRow, LiveSlots, Spares, admission, spare_admissions

NOW = 1_800_000_000.0


def one_by_one(row: HostRow, ticket: AdmitTicket, *, now: float, slots: LiveSlots) -> Spares:
    if row.breaker is not BreakerState.CLOSED or row.consecutive_failures:
        return Spares(row, 0, crowded=False)
    taken = 0
    while taken < ticket.spares:
        verdict = admission(row, ticket, now=now, slots=slots, deferrals=lambda: 0, spread=1.0)
        deferral = verdict.admission.deferral
        if deferral is not None:
            return Spares(row, taken, crowded=deferral.kind == "in_flight")
        row, taken = verdict.row, taken + 1
        if verdict.admission.slot:
            slots = replace(slots, in_flight=slots.in_flight + 1)
    return Spares(row, taken, crowded=False)


LIMITS = [
    HostLimit(org_id="org", host="h", max_in_flight=most, rate_per_second=rate, burst=burst)
    for most, rate, burst in itertools.product(
        [None, 1, 5, 40], [None, 0.5, 2.0, 1000.0], [None, 1, 3, 100]
    )
    if most is not None or rate is not None
]
ROWS = [
    HostRow(),
    HostRow(tokens=0.0, refilled_at=NOW - 0.25),
    HostRow(tokens=2.9999999995, refilled_at=NOW),
    HostRow(tokens=1.5, refilled_at=NOW + 0.1),  # a mark a later transaction left
    HostRow(tokens=7.0, refilled_at=NOW - 10.0, rate_horizon=NOW + 2.0),
    HostRow(consecutive_failures=1),
    HostRow(breaker=BreakerState.OPEN, next_probe_at=NOW + 5.0),
]


@pytest.mark.parametrize("limit", LIMITS, ids=str)
def test_spares_counted_at_once_agree_with_one_by_one(limit: HostLimit) -> None:
    for row, in_flight, wanted in itertools.product(ROWS, [0, 3, 39], [0, 1, 4, 64]):
        ticket = AdmitTicket(
            org_id="org",
            host="h",
            attempt_id="att_x",
            step_run_id="stp_x",
            hold_for=40.0,
            limit=limit,
            spares=wanted,
        )
        slots = LiveSlots(in_flight=in_flight)
        assert spare_admissions(row, ticket, now=NOW, slots=slots) == one_by_one(
            row, ticket, now=NOW, slots=slots
        ), (row, in_flight, wanted)
