"""`decide`: what one attempt's result means for its step run, branch by branch."""

from __future__ import annotations

from callout.engine.decision import StepDecision, decide
from callout.model.records import Decision, StepError
from callout.steps.attempt import AttemptResult
from callout.steps.registry import StepPolicy

CAP = 3600.0
SERVER_ERROR = StepError("http_status", "the server answered 503", status=503, body={"x": 1})
REFUSED = StepError("connection_error", "connection refused")


def decided(
    result: AttemptResult, policy: StepPolicy, *, failed_before: int = 0, cap: float = CAP
) -> StepDecision:
    return decide(result, policy, failed_attempts_before=failed_before, retry_after_cap=cap)


def test_a_success_keeps_the_output_and_sets_no_wait() -> None:
    result = AttemptResult(output={"status": 201, "headers": {}, "body": {"id": "u_1"}})
    assert decided(result, StepPolicy(retry_intervals=(5,))) == StepDecision(
        Decision.SUCCEEDED, output={"status": 201, "headers": {}, "body": {"id": "u_1"}}
    )


def test_a_retryable_failure_waits_the_interval_of_its_retry_number() -> None:
    result = AttemptResult(error=SERVER_ERROR, retryable=True)
    policy = StepPolicy(retry_intervals=(5, 60))
    assert decided(result, policy, failed_before=0) == StepDecision(Decision.RETRY, 5.0)
    assert decided(result, policy, failed_before=1) == StepDecision(Decision.RETRY, 60.0)


def test_retry_after_longer_than_the_interval_stretches_the_wait_up_to_the_cap() -> None:
    policy = StepPolicy(retry_intervals=(5,))
    longer = AttemptResult(error=SERVER_ERROR, retryable=True, retry_after=30)
    huge = AttemptResult(error=SERVER_ERROR, retryable=True, retry_after=10**6)
    shorter = AttemptResult(error=SERVER_ERROR, retryable=True, retry_after=1)
    assert decided(longer, policy).retry_delay == 30
    assert decided(huge, policy, cap=120).retry_delay == 120
    assert decided(shorter, policy).retry_delay == 5


def test_a_retryable_failure_with_no_interval_left_fails_the_run() -> None:
    result = AttemptResult(error=SERVER_ERROR, retryable=True, retry_after=5)
    policy = StepPolicy(retry_intervals=(5, 60))
    assert decided(result, policy, failed_before=2) == StepDecision(Decision.ERRORED_FAIL)
    assert decided(result, StepPolicy()) == StepDecision(Decision.ERRORED_FAIL)


def test_a_final_failure_is_not_retried_whatever_intervals_remain() -> None:
    result = AttemptResult(error=StepError("http_status", "404", status=404, body="no"))
    assert decided(result, StepPolicy(retry_intervals=(1, 1))) == StepDecision(
        Decision.ERRORED_FAIL
    )


def test_continue_on_error_gives_later_steps_the_error_as_output() -> None:
    result = AttemptResult(error=SERVER_ERROR, retryable=True)
    policy = StepPolicy(retry_intervals=(5,), continue_on_error=True)
    decision = decided(result, policy, failed_before=1)
    assert decision.decision is Decision.ERRORED_CONTINUE
    assert decision.retry_delay is None
    assert decision.output == {
        "status": 503,
        "headers": {},
        "header_values": {},
        "url": None,
        "body": {"x": 1},
        "error": {
            "type": "http_status",
            "message": "the server answered 503",
            "status": 503,
            "body": {"x": 1},
        },
    }


def test_continue_on_error_without_a_response_has_no_status_or_body() -> None:
    decision = decided(AttemptResult(error=REFUSED), StepPolicy(continue_on_error=True))
    assert decision == StepDecision(
        Decision.ERRORED_CONTINUE,
        output={
            "status": None,
            "headers": {},
            "header_values": {},
            "url": None,
            "body": None,
            "error": {"type": "connection_error", "message": "connection refused"},
        },
    )


def test_continue_on_error_says_when_the_body_is_only_the_first_part() -> None:
    cut = StepError("http_status", "422", status=422, body="x" * 10, body_truncated=True)
    decision = decided(AttemptResult(error=cut), StepPolicy(continue_on_error=True))
    assert decision.output is not None
    assert decision.output["body_truncated"] is True
    assert decision.output["error"]["body_truncated"] is True
    whole = decided(AttemptResult(error=SERVER_ERROR), StepPolicy(continue_on_error=True)).output
    assert whole is not None
    assert "body_truncated" not in whole
