"""What an attempt's result decides for its step run: done, retry later, or error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callout.engine.retry import RetrySchedule
from callout.model.records import Decision
from callout.steps.attempt import AttemptResult
from callout.steps.registry import StepPolicy


@dataclass(frozen=True, slots=True)
class StepDecision:
    """The decision, the wait before the next attempt (for a retry), and the step's output.

    The wait is a duration: the store makes the retry due that long after it records
    the attempt's end, by the database's clock (a worker's clock never sets a due time).
    """

    decision: Decision
    retry_delay: float | None = None
    output: dict[str, Any] | None = None


def decide(
    result: AttemptResult,
    policy: StepPolicy,
    *,
    failed_attempts_before: int,
    retry_after_cap: float,
) -> StepDecision:
    """Decide from an attempt's result (DESIGN.md, attempt semantics).

    `failed_attempts_before` counts this step run's earlier failed attempts
    (interrupted ones excluded: they used no interval).
    """
    if result.succeeded:
        return StepDecision(Decision.SUCCEEDED, output=result.output)
    if result.retryable:
        schedule = RetrySchedule(policy.retry_intervals, retry_after_cap)
        wait = schedule.wait_before_retry(failed_attempts_before + 1, result.retry_after)
        if wait is not None:
            return StepDecision(Decision.RETRY, retry_delay=wait)
    if not policy.continue_on_error:
        return StepDecision(Decision.ERRORED_FAIL)
    error = result.error
    output: dict[str, Any] = {
        "status": error.status if error else None,
        "headers": {},
        "header_values": {},
        "url": None,  # no answer to take it from
        "body": error.body if error else None,
        "error": error.to_json() if error else {},
    }
    if error is not None and error.body_truncated:
        output["body_truncated"] = True  # `body` is the first part of the response's text
    return StepDecision(Decision.ERRORED_CONTINUE, output=output)
