"""Classify a response: success, retry later, or fail; and read `Retry-After`.

What a step keeps of a response (docs/attempts.md, "What a step keeps"):

- the step output keeps the body parsed while it is at most `PARSED_BODY_BYTES` and,
  for JSON, at most `PARSED_BODY_VALUES` values (so a kept body costs at most ~7 MiB of
  Python objects however tiny its values); a bigger body is kept as the first
  `RECORDED_BODY_BYTES` of its text with `body_truncated: true`;
- an error keeps the body parsed while it is at most `ERROR_BODY_BYTES`, else its
  first `ERROR_BODY_BYTES` as text with `body_truncated: true`;
- the attempt log keeps the first `RECORDED_BODY_BYTES` of the body as text.

A success's output also holds `headers` (a name's values joined), `header_values`
(every value, in order) and `url` (where the answer came from), secrets hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from callout.http import InboundResponse
from callout.model.errors import (
    AttemptError,
    ResponseTooDeep,
    ResponseUncheckable,
    SchemaMismatch,
    StatusError,
)
from callout.model.json_input import (
    MAX_JSON_DEPTH,
    JsonInputError,
    nesting_depth_bound,
    parse_json_value,
)
from callout.model.records import RecordedRequest, RecordedResponse, StepError
from callout.model.redaction import Redactor
from callout.steps.attempt import AttemptResult
from callout.steps.https_request.config import HttpsRequestConfig
from callout.steps.https_request.connection_config import MAX_REDIRECTS

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
FOLLOWED_STATUSES = frozenset({301, 302, 303, 307, 308})
"""The redirects `follow_redirects: true` follows (with a Location)."""

RECORDED_BODY_BYTES = 64 * 1024
"""How much of a body the attempt log keeps, and the text a truncated output keeps."""

PARSED_BODY_BYTES = 1024 * 1024
"""The largest body a step output keeps whole (parsed when JSON), and checks against a schema."""

PARSED_BODY_VALUES = 50_000
"""The most JSON values (objects, arrays, scalars) a kept body may hold.

Python spends up to ~130 bytes on each (an object holding an empty object), so 1 MiB
of `[{},{},...]` (350,000 values) would cost 24 MiB; 50,000 values cost at most ~7 MiB.
"""

ERROR_BODY_BYTES = 64 * 1024
"""The largest body an error (`error.body`) keeps whole; a longer one keeps its first part."""

MESSAGE_CHARS = 4096
"""The longest error message kept (a schema's messages may quote the whole body)."""

OFF_LOOP_BODY_BYTES = 64 * 1024
"""Bodies longer than this are classified in a thread: parsing, redacting and checking
them must not hold the event loop."""

_REDACTION_MARGIN = 128 * 1024
# A cut text is redacted with this much more text after the cut, so a secret (16 KiB at
# most, longer once encoded) that straddles the cut is hidden whole before the cut.

# A JSON string: possessive quantifiers, so the match is linear and never backtracks.
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_JSON_SPACE = b" \t\r\n"


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


def json_value_count(raw: bytes) -> int:
    """Count the values (objects, arrays and scalars, at any depth) in the JSON text `raw`.

    Exact for valid JSON, a count of separators otherwise. It runs before parsing, in C
    (a regular expression and `bytes` methods), so a body of a million tiny values is
    refused without building them: every value but the outermost is either the first
    item of a non-empty array or object, or follows a `,` (keys are not counted).
    """
    bare = _JSON_STRING.sub(b"", raw).translate(None, _JSON_SPACE)
    opened = bare.count(b"[") + bare.count(b"{") - bare.count(b"[]") - bare.count(b"{}")
    return 1 + bare.count(b",") + opened


@dataclass(frozen=True, slots=True)
class ReadBody:
    """A body as a step keeps it.

    `value` is parsed JSON, text, None (empty), or, when `truncated`, the first
    `RECORDED_BODY_BYTES` of the text. `unreadable` says why JSON was wanted but not
    read; `too_deep` says where valid JSON nested past `MAX_JSON_DEPTH`.
    """

    value: Any
    truncated: bool = False
    unreadable: str | None = None
    too_deep: str | None = None


def _is_json(response: InboundResponse) -> bool:
    content_type = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def _text_prefix(raw: bytes, limit: int, redactor: Redactor) -> str:
    """Return the first `limit` bytes of `raw` as text, secrets hidden (even across the cut)."""
    if len(raw) <= limit:
        return redactor.text(raw.decode("utf-8", errors="replace"))
    shown = len(raw[:limit].decode("utf-8", errors="replace"))
    window = raw[: limit + _REDACTION_MARGIN].decode("utf-8", errors="replace")
    # Redact first, then cut at the prefix's length: a secret across the cut is gone whole.
    return redactor.text(window)[:shown]


def read_body(
    response: InboundResponse, *, want_json: bool, budget: int, redactor: Redactor
) -> ReadBody:
    """Read a body within `budget` bytes: parsed when JSON, else text; secrets hidden."""
    raw = response.body
    if not raw:
        return ReadBody(None, unreadable="the body is empty" if want_json else None)
    as_json = want_json or _is_json(response)
    if len(raw) > budget:
        why = f"the body is {len(raw)} bytes, over the {budget} bytes callout parses"
        return ReadBody(
            _text_prefix(raw, RECORDED_BODY_BYTES, redactor), truncated=True, unreadable=why
        )
    if not as_json:
        return ReadBody(_text_prefix(raw, budget, redactor))
    too_deep = nesting_depth_bound(raw) > MAX_JSON_DEPTH
    # Too deep is said as such (the parser names where); else too many values is
    # refused before any is built.
    values = 0 if too_deep else json_value_count(raw)
    if values > PARSED_BODY_VALUES:
        why = f"the body holds {values} JSON values, over the {PARSED_BODY_VALUES} callout parses"
        return ReadBody(
            _text_prefix(raw, RECORDED_BODY_BYTES, redactor), truncated=True, unreadable=why
        )
    try:
        parsed = parse_json_value(raw)
    except JsonInputError as exc:
        text = _text_prefix(raw, budget, redactor)
        where = redactor.text(str(exc))
        if too_deep:
            return ReadBody(text, too_deep=where)
        return ReadBody(text, unreadable=f"the body is not valid JSON: {where}")
    # A server may echo what it received; what we keep must not carry a secret back out.
    return ReadBody(redactor.value(parsed))


def _output_headers(
    response: InboundResponse, redactor: Redactor
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Return the `headers` and `header_values` outputs, secrets hidden.

    Both by lower-cased name: `headers` joins a name's values with ", ";
    `header_values` lists them in the order received (Set-Cookie's kept apart).
    """
    values: dict[str, list[str]] = {}
    for name, value in response.headers:
        values.setdefault(name.lower(), []).append(redactor.header(name, value))
    return {name: ", ".join(found) for name, found in values.items()}, values


def final_url(response: InboundResponse, request: RecordedRequest, redactor: Redactor) -> str:
    """Return the URL the answer came from (after redirects), secrets hidden."""
    return redactor.text(response.url) if response.url else request.url


def record_response(response: InboundResponse, redactor: Redactor) -> RecordedResponse:
    """Return the attempt log's copy of a response: body cut at the record cap, secrets hidden."""
    return RecordedResponse(
        status=response.status,
        headers=redactor.headers(response.headers),
        body=_text_prefix(response.body, RECORDED_BODY_BYTES, redactor),
        body_truncated=len(response.body) > RECORDED_BODY_BYTES,
    )


def _message(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _error_body(response: InboundResponse, body: ReadBody, redactor: Redactor) -> tuple[Any, bool]:
    """Return what an error keeps of a 2xx body read under the larger output budget."""
    if len(response.body) <= ERROR_BODY_BYTES and not body.truncated:
        return body.value, False
    return _text_prefix(response.body, ERROR_BODY_BYTES, redactor), True


def _succeeded(
    response: InboundResponse,
    config: HttpsRequestConfig,
    *,
    request: RecordedRequest,
    recorded: RecordedResponse,
    redactor: Redactor,
) -> AttemptResult:
    schema = config.response_schema
    body = read_body(
        response, want_json=schema is not None, budget=PARSED_BODY_BYTES, redactor=redactor
    )
    refused: AttemptError | None = None
    if body.too_deep is not None:
        refused = ResponseTooDeep(
            f"the response body is JSON nested too deep ({body.too_deep}); callout reads "
            f"JSON at most {MAX_JSON_DEPTH} levels deep"
        )
    elif schema is not None and body.truncated:
        refused = ResponseUncheckable(
            f"response_schema was not checked: {body.unreadable}; a response_schema is "
            f"checked on bodies up to {PARSED_BODY_BYTES} bytes and {PARSED_BODY_VALUES} values"
        )
    elif schema is not None:
        why = [body.unreadable] if body.unreadable else schema.problems(body.value)
        if why:
            refused = SchemaMismatch(
                "the response does not match response_schema: " + "; ".join(why)
            )
    if refused is not None:
        # A final error, keeping the body within the error's budget.
        kept, truncated = _error_body(response, body, redactor)
        error = StepError(
            refused.kind,
            _message(redactor.text(str(refused))),
            status=response.status,
            body=kept,
            body_truncated=truncated,
        )
        return AttemptResult(error=error, request=request, response=recorded)
    headers, header_values = _output_headers(response, redactor)
    output: dict[str, Any] = {
        "status": response.status,
        "headers": headers,
        "header_values": header_values,
        "url": final_url(response, request, redactor),
        "body": body.value,
    }
    if body.truncated:
        output["body_truncated"] = True
    return AttemptResult(output=output, request=request, response=recorded)


def classify(
    response: InboundResponse,
    config: HttpsRequestConfig,
    *,
    request: RecordedRequest,
    redactor: Redactor,
    now: float,
) -> AttemptResult:
    """Turn a response into the attempt's result, following DESIGN.md's attempt semantics.

    CPU-bound for a large body (parse, redaction, schema): callers on the event loop
    run it in a thread past `OFF_LOOP_BODY_BYTES`.
    """
    recorded = record_response(response, redactor)
    status = response.status
    if 200 <= status < 300:
        return _succeeded(response, config, request=request, recorded=recorded, redactor=redactor)

    body = read_body(response, want_json=False, budget=ERROR_BODY_BYTES, redactor=redactor)
    retryable = status in RETRYABLE_STATUSES
    if status in FOLLOWED_STATUSES and config.follow_redirects and response.header("location"):
        message = (
            f"the server answered {status}: still a redirect after {MAX_REDIRECTS}"
            f" (follow_redirects follows at most {MAX_REDIRECTS})"
        )
    elif 300 <= status < 400 and config.follow_redirects:
        message = f"the server answered {status}, a redirect callout does not follow"
    elif 300 <= status < 400:
        message = (
            f"the server answered {status} (redirects are not followed:"
            " a signed request is never re-sent elsewhere; follow_redirects: true follows them)"
        )
    else:
        message = f"the server answered {status}"
    refused = StatusError(message, status=status, retryable=retryable)
    retry_after = parse_retry_after(
        response.header("retry-after"), date_header=response.header("date"), now=now
    )
    return AttemptResult(
        error=StepError(
            refused.kind,
            str(refused),
            status=status,
            body=body.value,
            body_truncated=body.truncated,
        ),
        retryable=retryable,
        retry_after=retry_after if retryable else None,
        request=request,
        response=recorded,
    )
