"""Delivery control's word to a step: not now, come back later (docs/delivery-control.md).

A per-host limit (requests in flight, a rate) or a paused host (the circuit
breaker) defers an attempt before anything is sent: the step run goes back to
`pending`, due again after `delay`, with `reason` shown to users. A deferral
is not an attempt: it uses none of the step's retries, and the step's timeout
starts only when the request is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DeferralKind = Literal["in_flight", "rate", "breaker"]
"""Which rule held an attempt back: a full in-flight limit, an empty rate bucket, or a
paused host (its breaker open, or half open with the probe out)."""


@dataclass(frozen=True, slots=True)
class Deferral:
    """An attempt held back by delivery control, and when to try it again."""

    host: str
    """The host the attempt waits for (lower case, no port)."""
    delay: float
    """Seconds from now (the database's now) before the step run is due again."""
    reason: str
    """What users see while it waits, e.g. "waiting for a slot: at most 5 requests in
    flight to api.example.com" or "api.example.com is paused until 12:00:31Z"."""
    kind: DeferralKind
    """Which rule deferred it (counted by kind in the worker's metrics)."""
