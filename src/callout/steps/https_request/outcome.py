"""Classify a response: success, retry later, or fail; and read `Retry-After`."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from typing import Any

from callout.http import InboundResponse
from callout.model.errors import SchemaMismatch, StatusError
from callout.model.records import RecordedRequest, RecordedResponse, StepError
from callout.model.redaction import Redactor
from callout.steps.attempt import AttemptResult
from callout.steps.https_request.config import HttpsRequestConfig

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RECORDED_BODY_BYTES = 64 * 1024
"""How much of a response body the attempt log keeps (the step output keeps it all)."""


def parse_retry_after(value: str | None, *, date_header: str | None, now: float) -> float | None:
    """Read `Retry-After` as seconds from now: a number of seconds, or an HTTP date.

    A date is read against the response's own `Date` header (the server's clock),
    falling back to our clock when the response has none. Unreadable: None.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        target = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    reference = now
    if date_header is not None:
        try:
            reference = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            reference = now
    return max(0.0, target - reference)


def _is_json(response: InboundResponse) -> bool:
    content_type = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def _decode_body(response: InboundResponse, *, want_json: bool) -> tuple[Any, str | None]:
    """Return the body (JSON when it is, else text) and why JSON was wanted but unreadable."""
    if not response.body:
        return None, ("the body is empty" if want_json else None)
    text = response.body.decode("utf-8", errors="replace")
    if not (want_json or _is_json(response)):
        return text, None
    try:
        return json.loads(text), None
    except ValueError:
        return text, "the body is not valid JSON"


def _output_headers(response: InboundResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.headers:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def record_response(response: InboundResponse, redactor: Redactor) -> RecordedResponse:
    """Return the attempt log's copy of a response: body cut at the record cap, secrets hidden."""
    cut = response.body[:RECORDED_BODY_BYTES]
    return RecordedResponse(
        status=response.status,
        headers=redactor.headers(response.headers),
        body=redactor.text(cut.decode("utf-8", errors="replace")),
        body_truncated=len(response.body) > RECORDED_BODY_BYTES,
    )


def classify(
    response: InboundResponse,
    config: HttpsRequestConfig,
    *,
    request: RecordedRequest,
    redactor: Redactor,
    now: float,
) -> AttemptResult:
    """Turn a response into the attempt's result, following DESIGN.md's attempt semantics."""
    recorded = record_response(response, redactor)
    status = response.status
    body, unreadable = _decode_body(response, want_json=config.response_schema is not None)
    # A server may echo what it received; what we keep must not carry a secret back out.
    body = redactor.value(body)
    if 200 <= status < 300:
        if config.response_schema is not None:
            why = [unreadable] if unreadable else config.response_schema.problems(body)
            if why:
                error = SchemaMismatch(
                    "the response does not match response_schema: " + "; ".join(why)
                )
                return AttemptResult(
                    error=StepError(
                        error.kind, redactor.text(str(error)), status=status, body=body
                    ),
                    request=request,
                    response=recorded,
                )
        headers = {k: redactor.header(k, v) for k, v in _output_headers(response).items()}
        output = {"status": status, "headers": headers, "body": body}
        return AttemptResult(output=output, request=request, response=recorded)

    retryable = status in RETRYABLE_STATUSES
    if 300 <= status < 400:
        message = (
            f"the server answered {status} (redirects are not followed:"
            " a signed request is never re-sent elsewhere)"
        )
    else:
        message = f"the server answered {status}"
    refused = StatusError(message, status=status, retryable=retryable)
    retry_after = parse_retry_after(
        response.header("retry-after"), date_header=response.header("date"), now=now
    )
    return AttemptResult(
        error=StepError(refused.kind, str(refused), status=status, body=body),
        retryable=retryable,
        retry_after=retry_after if retryable else None,
        request=request,
        response=recorded,
    )
