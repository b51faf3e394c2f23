"""The ids a log line about claimed work carries: `extra=` fields a JSON log writes as keys.

Ids only: never a body, a header or a URL (any may hold a secret). The plain log
ignores them; the message itself names the run and step where it matters.
"""

from __future__ import annotations

from callout.store.protocol import Claim

LOG_FIELDS = ("run_id", "step_id", "step_run_id", "attempt_id")
"""The record attributes a JSON log line copies, when a line sets them."""


def claim_fields(claim: Claim) -> dict[str, str]:
    """Return the ids of the work a claim is for, as `extra=` for a log call."""
    return {
        "run_id": claim.run_id,
        "step_id": claim.step_id,
        "step_run_id": claim.step_run_id,
        "attempt_id": claim.attempt_id,
    }
