"""Build one attempt's request: resolve references, check again, serialise once, sign."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from callout.http import OutboundRequest
from callout.model.errors import RequestRejected
from callout.model.records import RecordedRequest
from callout.model.redaction import Redactor
from callout.signing import sign
from callout.steps.attempt import AttemptContext
from callout.steps.https_request.config import (
    ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
    MAX_BODY_BYTES,
    MAX_HEADER_VALUE_LENGTH,
    METHODS_WITH_BODY,
    HttpsRequestConfig,
    check_header_value,
)
from callout.templates import (
    Scope,
    SizeBudget,
    referenced_secrets,
    resolve_text,
    resolve_url,
    resolve_value,
)

MAX_RESOLVED_URL_LENGTH = 8192

_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What HTTP forbids in a header value (RFC 9110 5.5), and aiohttp refuses with a ValueError."""


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The request to send, and its redacted copy for the attempt log."""

    outbound: OutboundRequest
    record: RecordedRequest
    redactor: Redactor


def check_resolved_url(url: str) -> None:
    """Refuse a resolved URL that is not an absolute http(s) URL with a host and no credentials.

    Whether plain HTTP may be sent is the transport's decision (the operator's setting).
    """
    if len(url) > MAX_RESOLVED_URL_LENGTH:
        raise RequestRejected(f"the URL is longer than {MAX_RESOLVED_URL_LENGTH} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise RequestRejected("the URL contains spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise RequestRejected("the URL must be an absolute https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise RequestRejected("the URL must not carry credentials (user:password@)")
    try:
        _ = parts.port
    except ValueError:
        raise RequestRejected("the URL has an invalid port") from None


def _signing_secrets(config: HttpsRequestConfig, scope: Scope) -> list[str]:
    """Return the values that sign, newest first.

    Every current value, then the previous value of each secret still in its
    rotation grace period.
    """
    values: list[str] = []
    previous: list[str] = []
    for template in config.secrets:
        value = resolve_text(template, scope)
        if not value:
            raise RequestRejected(f"the signing secret {template} is empty")
        values.append(value)
        previous.extend(
            scope.previous_secrets[name]
            for name in sorted(referenced_secrets(template))
            if scope.previous_secrets.get(name)
        )
    return values + [value for value in previous if value not in values]


NOT_UNICODE = "holds text that is not valid Unicode (a lone surrogate, as JSON may escape one)"


def _check_unicode(text: str, what: str) -> None:
    """Refuse text that has no UTF-8 form, before the transport fails to encode it."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise RequestRejected(f"{what} {NOT_UNICODE}") from None


def _serialise(body: Any) -> bytes:
    """Return the body as compact JSON in UTF-8: the bytes that are signed and sent."""
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise RequestRejected(f"the resolved body {NOT_UNICODE}") from None
    except RecursionError:
        raise RequestRejected("the resolved body is nested too deeply to write as JSON") from None


def prepare_request(
    config: HttpsRequestConfig, scope: Scope, context: AttemptContext
) -> PreparedRequest:
    """Resolve and check `config` for one attempt. Raises ResolveError or RequestRejected."""
    # Each result is counted as it is resolved and stops at its limit, before its
    # memory is spent (2,000 references to one 50 KB value are not 100 MB first).
    url = resolve_url(
        config.url,
        scope,
        budget=SizeBudget(MAX_RESOLVED_URL_LENGTH, what="the resolved URL", unit="characters"),
    )
    check_resolved_url(url)
    _check_unicode(url, "the resolved URL")

    headers: list[tuple[str, str]] = []
    for name, template in config.headers:
        value = resolve_text(
            template,
            scope,
            budget=SizeBudget(
                MAX_HEADER_VALUE_LENGTH,
                what=f"header {name}: the resolved value",
                unit="characters",
            ),
        )
        if (why := check_header_value(value)) is not None:
            raise RequestRejected(f"header {name}: the resolved value {why}")
        if _HEADER_CONTROL.search(value):
            raise RequestRejected(
                f"header {name}: the resolved value holds a control character"
                " (of those, only tab may be sent)"
            )
        _check_unicode(value, f"header {name}: the resolved value")
        headers.append((name, value))

    body = b""
    if config.has_body and config.method in METHODS_WITH_BODY:
        resolved = resolve_value(
            config.body, scope, budget=SizeBudget(MAX_BODY_BYTES, what="the resolved body")
        )
        body = _serialise(resolved)
        if len(body) > MAX_BODY_BYTES:  # the budget counts exactly; this is the last word
            raise RequestRejected(
                f"the resolved body is {len(body)} bytes; at most {MAX_BODY_BYTES}"
            )
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
    headers.append((IDEMPOTENCY_HEADER, context.step_run_id))
    headers.append((ATTEMPT_HEADER, str(context.attempt_number)))

    signing_secrets = _signing_secrets(config, scope)
    if signing_secrets:
        # A fresh timestamp on every attempt: receivers reject stale ones.
        timestamp = int(context.clock.now())
        headers.append((config.signature_header, sign(body, signing_secrets, timestamp=timestamp)))

    redactor = Redactor(
        [*scope.secrets.values(), *scope.previous_secrets.values(), *signing_secrets]
    )
    record = RecordedRequest(
        method=config.method,
        url=redactor.text(url),
        headers=redactor.headers(headers),
        body=redactor.text(body.decode("utf-8", errors="replace")),
    )
    outbound = OutboundRequest(
        method=config.method,
        url=url,
        headers=tuple(headers),
        body=body,
        timeout=config.timeout,
    )
    return PreparedRequest(outbound=outbound, record=record, redactor=redactor)
