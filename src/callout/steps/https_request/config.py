"""The Make HTTPS Request step's config: its fields, their limits, and their checks.

Every check here runs on the literal text of the document, and reports every
problem at once with its path. The same rules run again on resolved values
just before sending (`request.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from callout.model.document import StepSpec, type_name, unknown_keys
from callout.model.errors import Problem
from callout.signing import DEFAULT_SIGNATURE_HEADER
from callout.steps.https_request.auth_config import Auth, auth_templates, check_auth
from callout.steps.https_request.body_config import (
    DEFAULT_BODY_TYPE,
    MAX_BODY_BYTES,
    METHODS_WITH_BODY,
    BodyType,
    check_body,
)
from callout.steps.https_request.connection_config import (
    check_client_certificate,
    check_follow_redirects,
)
from callout.steps.https_request.headers_config import (
    ATTEMPT_HEADER,
    ENGINE_HEADERS,
    FORBIDDEN_IN_HEADER,
    FRAMING_HEADERS,
    IDEMPOTENCY_HEADER,
    MAX_HEADER_VALUE_LENGTH,
    MAX_HEADERS,
    TOKEN,
    check_header_name,
    check_header_value,
    check_headers,
)
from callout.steps.https_request.query_config import check_query
from callout.steps.schema import CompiledSchema, compile_schema
from callout.templates import ReferenceRules, check_text, parse_template, referenced_secrets

__all__ = [
    "ATTEMPT_HEADER",
    "DEFAULT_METHOD",
    "DEFAULT_TIMEOUT",
    "ENGINE_HEADERS",
    "FIELDS",
    "FRAMING_HEADERS",
    "IDEMPOTENCY_HEADER",
    "MAX_BODY_BYTES",
    "MAX_HEADERS",
    "MAX_HEADER_VALUE_LENGTH",
    "METHODS",
    "METHODS_WITH_BODY",
    "TOKEN",
    "HttpsRequestConfig",
    "check_config",
    "check_header_name",
    "check_header_value",
    "secrets_of",
]

METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")
DEFAULT_METHOD = "POST"
DEFAULT_TIMEOUT = 30.0
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 300.0
MIN_INTERVAL, MAX_INTERVAL = 1.0, 7 * 24 * 3600.0
MAX_INTERVALS = 20
MAX_SECRETS = 5
MAX_URL_LENGTH = 2048

FIELDS = (
    "url",
    "method",
    "body",
    "headers",
    "response_schema",
    "secret",
    "signature_header",
    "retry_intervals",
    "timeout",
    "continue_on_error",
    "query",
    "body_type",
    "content_type",
    "auth",
    "client_certificate",
    "follow_redirects",
)


@dataclass(frozen=True, slots=True)
class HttpsRequestConfig:
    """A checked Make HTTPS Request step. Text fields still hold their `{{ }}` references."""

    url: str
    method: str = DEFAULT_METHOD
    body: Any = None
    has_body: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    response_schema: CompiledSchema | None = field(default=None, compare=False)
    secrets: tuple[str, ...] = ()
    signature_header: str = DEFAULT_SIGNATURE_HEADER
    retry_intervals: tuple[float, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    continue_on_error: bool = False
    query: tuple[tuple[str, str], ...] = ()
    body_type: BodyType = DEFAULT_BODY_TYPE
    """How `body` is written: `json` (any JSON), `form` (pairs), `raw` (one text template)."""
    content_type: str | None = None
    """A raw body's Content-Type; None for the others."""
    auth: Auth | None = None
    client_certificate: str | None = None
    """One secret reference: PEM certificate and key, presented for mutual TLS."""
    follow_redirects: bool = False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_url(raw: Any, path: str, rules: ReferenceRules, *, allow_http: bool) -> list[Problem]:
    if not isinstance(raw, str) or not raw.strip():
        return [Problem(path, "is required: the https:// address to send the request to")]
    if len(raw) > MAX_URL_LENGTH:
        return [Problem(path, f"is longer than {MAX_URL_LENGTH} characters")]
    problems = check_text(raw, path, rules)
    if problems:
        return problems
    template = parse_template(raw)
    if template.whole is not None:
        return []  # the whole URL comes from a reference: checked when it is resolved
    first = template.parts[0]
    literal = first if isinstance(first, str) else ""
    if not literal:
        return [
            Problem(path, "must start with https:// (only the parts after it may be references)")
        ]
    schemes = ("https", "http") if allow_http else ("https",)
    scheme, sep, rest = literal.partition("://")
    if not sep or scheme.lower() not in schemes:
        allowed = "https:// (or http:// where the operator allows it)" if allow_http else "https://"
        return [Problem(path, f"must start with {allowed}")]
    if FORBIDDEN_IN_HEADER.search(raw) or any(ch.isspace() for ch in literal):
        return [Problem(path, "must not contain spaces or control characters")]
    if len(template.parts) == 1:
        try:
            parts = urlsplit(raw)
        except ValueError:  # an unclosed or invalid [IPv6] host
            return [Problem(path, "is not a valid URL (check the host in [ ])")]
        if not parts.hostname:
            return [Problem(path, "has no host name")]
        if parts.username is not None or parts.password is not None:
            return [Problem(path, "must not carry credentials (user:password@); use a header")]
        try:
            _ = parts.port
        except ValueError:
            return [Problem(path, "has an invalid port")]
    elif "@" in rest.split("/", 1)[0]:
        return [Problem(path, "must not carry credentials (user:password@); use a header")]
    return []


def _check_secret(
    raw: Any, path: str, rules: ReferenceRules
) -> tuple[tuple[str, ...], list[Problem]]:
    if raw is None:
        return (), []
    items = raw if isinstance(raw, list) else [raw]
    if isinstance(raw, list) and not 1 <= len(raw) <= MAX_SECRETS:
        return (), [Problem(path, f"must list 1 to {MAX_SECRETS} secrets")]
    problems: list[Problem] = []
    secrets: list[str] = []
    for index, item in enumerate(items):
        here = f"{path}[{index}]" if isinstance(raw, list) else path
        if not isinstance(item, str):
            problems.append(
                Problem(
                    here,
                    f"must be a reference such as {{{{ secrets.name }}}}, not {type_name(item)}",
                )
            )
            continue
        found = check_text(item, here, rules)
        if found:
            problems.extend(found)
            continue
        if parse_template(item).whole is None:
            problems.append(
                Problem(
                    here,
                    "must be exactly one reference such as {{ secrets.crm_signing }}; "
                    "a secret written in the document would be stored in clear",
                )
            )
            continue
        if item in secrets:
            problems.append(Problem(here, "is listed twice"))
            continue
        secrets.append(item)
    return tuple(secrets), problems


def _check_intervals(raw: Any, path: str) -> tuple[tuple[float, ...], list[Problem]]:
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [Problem(path, "must be a list of seconds, e.g. [5, 60, 600]")]
    if len(raw) > MAX_INTERVALS:
        return (), [Problem(path, f"has {len(raw)} intervals; at most {MAX_INTERVALS}")]
    problems = [
        Problem(
            f"{path}[{index}]",
            f"must be a number of seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g} (7 days)",
        )
        for index, item in enumerate(raw)
        if not _is_number(item) or not MIN_INTERVAL <= item <= MAX_INTERVAL
    ]
    return (tuple(float(item) for item in raw) if not problems else ()), problems


def _check_timeout(raw: Mapping[str, Any], path: str) -> tuple[float, list[Problem]]:
    value = raw.get("timeout", DEFAULT_TIMEOUT)
    if not _is_number(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        why = f"must be a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}"
        return DEFAULT_TIMEOUT, [Problem(f"{path}.timeout", why)]
    return float(value), []


def _check_signature_header(raw: Mapping[str, Any], path: str) -> tuple[str, list[Problem]]:
    signature_header = raw.get("signature_header", DEFAULT_SIGNATURE_HEADER)
    if not isinstance(signature_header, str) or not TOKEN.fullmatch(signature_header):
        return DEFAULT_SIGNATURE_HEADER, [
            Problem(f"{path}.signature_header", "must be a valid header name")
        ]
    if signature_header.lower() in FRAMING_HEADERS | ENGINE_HEADERS:
        return signature_header, [
            Problem(f"{path}.signature_header", f"{signature_header} is the engine's own header")
        ]
    return signature_header, []


def _authorization_conflicts(
    raw: Mapping[str, Any], headers: tuple[tuple[str, str], ...], path: str
) -> list[Problem]:
    """Refuse an `Authorization` header beside `auth`: one of them would be lost."""
    if raw.get("auth") is None:
        return []
    return [
        Problem(
            f"{path}.headers[{index}].key",
            f"{name} is set by auth; remove this header or auth (one or the other)",
        )
        for index, (name, _) in enumerate(headers)
        if name.lower() == "authorization"
    ]


def check_config(
    spec: StepSpec, path: str, rules: ReferenceRules, *, allow_http: bool
) -> tuple[HttpsRequestConfig | None, list[Problem]]:
    """Check a raw step config; return the typed config (None when invalid) and every problem."""
    raw = spec.config
    problems = unknown_keys(raw, FIELDS, path)
    problems += _check_url(raw.get("url"), f"{path}.url", rules, allow_http=allow_http)

    method = raw.get("method", DEFAULT_METHOD)
    if method not in METHODS:
        problems.append(Problem(f"{path}.method", f"must be one of {', '.join(METHODS)}"))
        method = DEFAULT_METHOD
    signature_header, signature_problems = _check_signature_header(raw, path)
    headers, header_problems = check_headers(
        raw.get("headers"), f"{path}.headers", rules, signature_header
    )
    body, found = check_body(raw, method, path, rules, headers)
    problems += found
    problems += signature_problems
    problems += header_problems
    problems += _authorization_conflicts(raw, headers, path)
    query, found = check_query(raw.get("query"), f"{path}.query", rules)
    problems += found
    auth, found = check_auth(raw.get("auth"), f"{path}.auth", rules, allow_http=allow_http)
    problems += found

    schema: CompiledSchema | None = None
    if raw.get("response_schema") is not None:
        schema, found = compile_schema(raw["response_schema"], f"{path}.response_schema")
        problems += found

    secrets, found = _check_secret(raw.get("secret"), f"{path}.secret", rules)
    problems += found
    intervals, found = _check_intervals(raw.get("retry_intervals"), f"{path}.retry_intervals")
    problems += found
    timeout, found = _check_timeout(raw, path)
    problems += found
    certificate, found = check_client_certificate(
        raw.get("client_certificate"), f"{path}.client_certificate", rules
    )
    problems += found
    follow_redirects, found = check_follow_redirects(raw, f"{path}.follow_redirects")
    problems += found

    continue_on_error = raw.get("continue_on_error", False)
    if not isinstance(continue_on_error, bool):
        problems.append(Problem(f"{path}.continue_on_error", "must be true or false"))

    if problems:
        return None, problems
    return (
        HttpsRequestConfig(
            url=raw["url"],
            method=method,
            body=body.value,
            has_body=body.present,
            headers=headers,
            response_schema=schema,
            secrets=secrets,
            signature_header=signature_header,
            retry_intervals=intervals,
            timeout=timeout,
            continue_on_error=bool(continue_on_error),
            query=query,
            body_type=body.body_type,
            content_type=body.content_type,
            auth=auth,
            client_certificate=certificate,
            follow_redirects=follow_redirects,
        ),
        [],
    )


def secrets_of(config: HttpsRequestConfig) -> set[str]:
    """Return the secret names a config references anywhere."""
    texts: list[Any] = [config.url, config.body, list(config.secrets), config.client_certificate]
    texts.extend(value for _, value in config.headers)
    texts.extend(value for _, value in config.query)
    texts.extend(auth_templates(config.auth))
    return referenced_secrets(texts)
