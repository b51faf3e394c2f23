from __future__ import annotations

import json

import pytest

from callout.http import InboundResponse
from callout.model.records import RecordedRequest
from callout.model.redaction import Redactor
from callout.steps.attempt import AttemptResult
from callout.steps.https_request.config import HttpsRequestConfig
from callout.steps.https_request.outcome import (
    ERROR_BODY_BYTES,
    MESSAGE_CHARS,
    PARSED_BODY_BYTES,
    PARSED_BODY_VALUES,
    RECORDED_BODY_BYTES,
    classify,
    json_value_count,
    parse_retry_after,
)
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
        "header_values": {"content-type": ["application/json"], "x-a": ["1", "2"]},
        "url": "https://api.test/",
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


# -- what a step keeps of a response (docs/attempts.md, "What a step keeps") ------------

JSON = (("Content-Type", "application/json"),)


def tiny_objects(size: int) -> bytes:
    """`[{},{},...]` of about `size` bytes."""
    count = max(1, (size - 1) // 3)
    return b"[" + b",".join([b"{}"] * count) + b"]"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def with_schema(schema: object) -> HttpsRequestConfig:
    compiled, problems = compile_schema(schema, "s")
    assert not problems
    return HttpsRequestConfig(url="https://a.test/", response_schema=compiled)


def test_a_body_over_the_parse_budget_is_kept_as_a_text_prefix_flagged_truncated() -> None:
    raw = tiny_objects(PARSED_BODY_BYTES + 10)
    result = outcome(InboundResponse(200, JSON, raw))
    assert result.error is None
    assert result.output is not None
    assert result.output["body_truncated"] is True
    assert result.output["body"] == raw[:RECORDED_BODY_BYTES].decode()
    assert result.response is not None
    assert result.response.body_truncated


def test_a_body_within_the_bytes_but_over_the_value_budget_is_not_parsed() -> None:
    raw = tiny_objects(3 * (PARSED_BODY_VALUES + 10))
    assert len(raw) < PARSED_BODY_BYTES
    result = outcome(InboundResponse(200, JSON, raw))
    assert result.output is not None
    assert result.output["body_truncated"] is True
    assert isinstance(result.output["body"], str)


def test_a_body_just_within_both_budgets_is_parsed_whole() -> None:
    raw = tiny_objects(3 * (PARSED_BODY_VALUES - 10))
    result = outcome(InboundResponse(200, JSON, raw))
    assert result.output is not None
    assert "body_truncated" not in result.output
    assert result.output["body"] == json.loads(raw)


def test_text_over_the_parse_budget_is_cut_too() -> None:
    raw = b"x" * (PARSED_BODY_BYTES + 1)
    result = outcome(InboundResponse(200, (("Content-Type", "text/plain"),), raw))
    assert result.output is not None
    assert result.output["body_truncated"] is True
    assert result.output["body"] == "x" * RECORDED_BODY_BYTES


@pytest.mark.parametrize(
    "text",
    [
        "0",
        '"a,b:[c]{d}"',
        "[]",
        "{}",
        "[[], {}, [ ], { }]",
        '{"a": [1, 2, {"b": null}], "c,": "]\\"[,", "d": {"e": [true, false]}}',
        '[{"k": "\\\\"}, "\\"", 1.5e3, -2]',
        '{"é": ["ü", {"ß": []}]}',
    ],
)
def test_json_value_count_is_exact_for_valid_json(text: str) -> None:
    def walk(value: object) -> int:
        if isinstance(value, list):
            return 1 + sum(walk(item) for item in value)
        if isinstance(value, dict):
            return 1 + sum(walk(item) for item in value.values())
        return 1

    assert json_value_count(text.encode()) == walk(json.loads(text))


@pytest.mark.parametrize("depth", [65, 300, 1000, 100_000])
def test_json_nested_past_the_limit_is_a_final_error_not_a_crash(depth: int) -> None:
    raw = nested(depth)
    result = outcome(InboundResponse(200, JSON, raw))
    assert result.error is not None
    assert result.error.type == "response_too_deep"
    assert not result.retryable
    assert "64 levels" in result.error.message
    assert "$[0]" in result.error.message  # where it went too deep
    # The response is still recorded, as text, capped.
    assert result.response is not None
    assert result.response.body == raw[:RECORDED_BODY_BYTES].decode()
    assert isinstance(result.error.body, str)
    assert result.error.body_truncated == (len(raw) > ERROR_BODY_BYTES)


def test_json_at_the_limit_is_kept() -> None:
    result = outcome(InboundResponse(200, JSON, nested(64)))
    assert result.error is None
    assert result.output is not None
    assert isinstance(result.output["body"], list)


def test_too_deep_wins_over_a_schema_check() -> None:
    result = outcome(InboundResponse(200, (), nested(200)), with_schema({"type": "array"}))
    assert result.error is not None
    assert result.error.type == "response_too_deep"


def test_a_body_too_large_to_check_against_the_schema_is_a_final_error() -> None:
    for raw in (
        tiny_objects(PARSED_BODY_BYTES + 10),
        tiny_objects(3 * (PARSED_BODY_VALUES + 10)),
    ):
        result = outcome(InboundResponse(200, JSON, raw), with_schema({"type": "array"}))
        assert result.error is not None
        assert result.error.type == "response_too_large_to_check"
        assert not result.retryable
        assert "not checked" in result.error.message
        assert result.error.body_truncated
        assert isinstance(result.error.body, str)
        assert len(result.error.body.encode()) <= ERROR_BODY_BYTES


def test_an_error_keeps_a_large_body_as_a_capped_prefix() -> None:
    raw = json.dumps({"detail": "y" * (2 * ERROR_BODY_BYTES)}).encode()
    result = outcome(InboundResponse(503, JSON, raw))
    assert result.retryable
    assert result.error is not None
    assert result.error.body_truncated
    assert result.error.body == raw[:ERROR_BODY_BYTES].decode()
    assert result.error.to_json()["body_truncated"] is True


def test_an_error_keeps_a_small_json_body_parsed_without_the_flag() -> None:
    result = outcome(InboundResponse(422, JSON, b'{"code": "bad"}'))
    assert result.error is not None
    assert result.error.body == {"code": "bad"}
    assert "body_truncated" not in result.error.to_json()


def test_an_error_with_a_deep_body_keeps_it_as_text_and_stays_retryable() -> None:
    raw = nested(1000)
    result = outcome(InboundResponse(503, JSON, raw))
    assert result.retryable
    assert result.error is not None
    assert result.error.type == "http_status"
    assert result.error.body == raw.decode()


def test_a_schema_failure_keeps_a_capped_body_and_a_capped_message() -> None:
    values = [["x" * 40] for _ in range(1500)]  # ~66 KiB, each item fails the schema
    raw = json.dumps(values).encode()
    schema = with_schema({"type": "array", "items": {"type": "string"}})
    result = outcome(InboundResponse(200, JSON, raw), schema)
    assert result.error is not None
    assert result.error.type == "schema_mismatch"
    assert len(result.error.message) <= MESSAGE_CHARS
    assert result.error.body_truncated
    assert len(result.error.body.encode()) <= ERROR_BODY_BYTES


def test_json_the_parser_refuses_is_text_without_a_schema_and_a_mismatch_with_one() -> None:
    raw = b'{"id": 1, "id": 2}'
    plain = outcome(InboundResponse(200, JSON, raw))
    assert plain.output is not None
    assert plain.output["body"] == raw.decode()
    checked = outcome(InboundResponse(200, JSON, raw), with_schema({"type": "object"}))
    assert checked.error is not None
    assert checked.error.type == "schema_mismatch"
    assert 'duplicate key "id"' in checked.error.message


def test_a_secret_across_the_cut_of_a_kept_prefix_is_hidden_whole() -> None:
    secret = "s3cr3t-value-0123456789"
    raw = b"a" * (RECORDED_BODY_BYTES - 5) + secret.encode() + b"b" * PARSED_BODY_BYTES
    result = outcome(InboundResponse(200, (), raw), secrets=(secret,))
    assert result.output is not None
    assert result.response is not None
    for kept in (result.output["body"], result.response.body):
        assert secret[:5] not in kept
        assert kept.endswith("[redacted]"[:5])
