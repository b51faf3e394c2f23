"""Build one attempt's request: resolve references, check again, serialise once, sign."""

from __future__ import annotations

import json
from dataclasses import dataclass
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
    METHODS_WITH_BODY,
    HttpsRequestConfig,
    check_header_value,
)
from callout.templates import Scope, referenced_secrets, resolve_text, resolve_url, resolve_value

MAX_RESOLVED_URL_LENGTH = 8192


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


def prepare_request(
    config: HttpsRequestConfig, scope: Scope, context: AttemptContext
) -> PreparedRequest:
    """Resolve and check `config` for one attempt. Raises ResolveError or RequestRejected."""
    url = resolve_url(config.url, scope)
    check_resolved_url(url)

    headers: list[tuple[str, str]] = []
    for name, template in config.headers:
        value = resolve_text(template, scope)
        if (why := check_header_value(value)) is not None:
            raise RequestRejected(f"header {name}: the resolved value {why}")
        headers.append((name, value))

    body = b""
    if config.has_body and config.method in METHODS_WITH_BODY:
        resolved = resolve_value(config.body, scope)
        body = json.dumps(resolved, separators=(",", ":"), ensure_ascii=False).encode()
        if len(body) > MAX_BODY_BYTES:
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
