from __future__ import annotations

from callout.http import InboundResponse
from callout.model.records import RecordedRequest
from callout.model.redaction import Redactor
from callout.steps.attempt import AttemptResult
from callout.steps.https_request.config import HttpsRequestConfig
from callout.steps.https_request.outcome import RECORDED_BODY_BYTES, classify, parse_retry_after
from callout.steps.schema import compile_schema

REQUEST = RecordedRequest(method="POST", url="https://api.test/", headers=(), body="")


def outcome(
    response: InboundResponse,
    config: HttpsRequestConfig | None = None,
    secrets: tuple[str, ...] = (),
) -> AttemptResult:
    return classify(
        response,
        config or HttpsRequestConfig(url="https://api.test/"),
        request=REQUEST,
        redactor=Redactor(secrets),
        now=1_000_000.0,
    )


def test_retry_after_seconds() -> None:
    assert parse_retry_after("120", date_header=None, now=0) == 120


def test_retry_after_date_is_read_against_the_responses_date_header() -> None:
    value = parse_retry_after(
        "Wed, 21 Oct 2015 07:28:30 GMT", date_header="Wed, 21 Oct 2015 07:28:00 GMT", now=0
    )
    assert value == 30


def test_retry_after_date_in_the_past_means_now() -> None:
    assert (
        parse_retry_after(
            "Wed, 21 Oct 2015 07:28:00 GMT", date_header="Wed, 21 Oct 2015 07:29:00 GMT", now=0
        )
        == 0
    )


def test_unreadable_retry_after_is_ignored() -> None:
    assert parse_retry_after("soon", date_header=None, now=0) is None


def test_2xx_is_success_with_parsed_json_and_lowercase_headers() -> None:
    result = outcome(
        InboundResponse(
            200, (("Content-Type", "application/json"), ("X-A", "1"), ("x-a", "2")), b'{"id": "u"}'
        )
    )
    assert result.output == {
        "status": 200,
        "headers": {"content-type": "application/json", "x-a": "1, 2"},
        "body": {"id": "u"},
    }


def test_non_json_body_is_text_and_empty_body_is_null() -> None:
    text = outcome(InboundResponse(200, (), b"hello")).output
    empty = outcome(InboundResponse(204, (), b"")).output
    assert text is not None
    assert empty is not None
    assert text["body"] == "hello"
    assert empty["body"] is None


def test_schema_set_and_body_not_json_is_a_schema_mismatch() -> None:
    schema, _ = compile_schema({"type": "object"}, "s")
    result = outcome(
        InboundResponse(200, (), b"<html>"),
        HttpsRequestConfig(url="https://a.test/", response_schema=schema),
    )
    assert result.error is not None
    assert result.error.type == "schema_mismatch"
    assert "not valid JSON" in result.error.message


def test_retryable_statuses_carry_retry_after() -> None:
    for status in (408, 425, 429, 500, 502, 503, 504):
        result = outcome(InboundResponse(status, (("Retry-After", "7"),), b""))
        assert result.retryable
        assert result.retry_after == 7


def test_other_statuses_are_final() -> None:
    for status in (301, 308, 400, 401, 404, 409, 422, 501):
        assert not outcome(InboundResponse(status, (), b"")).retryable


def test_record_keeps_a_capped_redacted_copy() -> None:
    big = b"s3cr3t " + b"x" * RECORDED_BODY_BYTES
    result = outcome(InboundResponse(500, (), big), secrets=("s3cr3t",))
    assert result.response is not None
    assert result.error is not None
    assert result.response.body_truncated
    assert "s3cr3t" not in result.response.body
    assert "s3cr3t" not in str(result.error.body)
