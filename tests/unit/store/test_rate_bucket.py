"""The rate bucket's rules (`delivery_rules.py`): what every store decides alike.

On PostgreSQL an admission's `now` is when its transaction began; two admissions
that began in one order can take the host's row in the other. The bucket must
then pay no interval out twice.
"""

from __future__ import annotations

from callout.store.delivery import AdmitTicket, HostLimit
from callout.store.delivery_rules import HostRow, LiveSlots, admission

RATE = 10.0  # a token every 0.1 s


def _ask(row: HostRow, *, now: float) -> tuple[bool, HostRow]:
    limit = HostLimit(org_id="org_1", host="api.example.com", rate_per_second=RATE, burst=1)
    ticket = AdmitTicket(
        org_id="org_1",
        host="api.example.com",
        attempt_id=f"att_{now}",
        step_run_id="stp_1",
        hold_for=40.0,
        limit=limit,
    )
    verdict = admission(row, ticket, now=now, slots=LiveSlots(), deferrals=lambda: 0, spread=1.0)
    return verdict.admission.admitted, verdict.row


def test_an_admission_whose_transaction_began_earlier_does_not_refill_the_bucket_twice() -> None:
    row = HostRow(tokens=0.0, refilled_at=100.0)
    # Began at 100.1, took the row first: the token of 100.0-100.1 is its.
    admitted, row = _ask(row, now=100.1)
    assert admitted
    # Began at 100.05, took the row after: nothing new has accrued for it.
    admitted, row = _ask(row, now=100.05)
    assert not admitted
    # Began at 100.15: half a token since 100.1, not 100.1 s of refill counted from 100.05.
    admitted, row = _ask(row, now=100.15)
    assert not admitted
    admitted, _ = _ask(row, now=100.2)
    assert admitted


def test_a_waiter_is_given_a_turn_after_the_refill_mark_even_when_its_clock_is_behind() -> None:
    row = HostRow(tokens=0.0, refilled_at=100.1)
    admitted, row = _ask(row, now=100.05)
    assert not admitted
    assert row.rate_horizon is not None
    assert row.rate_horizon >= 100.1 + 1 / RATE - 1e-9  # a whole token after the mark
