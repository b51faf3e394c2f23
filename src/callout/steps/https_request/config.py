"""The Make HTTPS Request step's config: its fields, their limits, and their checks.

Every check here runs on the literal text of the document, and reports every
problem at once with its path. The same rules run again on resolved values
just before sending (`request.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from callout.model.document import StepSpec, type_name, unknown_keys
from callout.model.errors import Problem
from callout.signing import DEFAULT_SIGNATURE_HEADER
from callout.steps.schema import CompiledSchema, compile_schema
from callout.templates import (
    ReferenceRules,
    check_text,
    check_value,
    parse_template,
    referenced_secrets,
)

METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")
METHODS_WITH_BODY = frozenset({"PATCH", "POST", "PUT"})
DEFAULT_METHOD = "POST"
DEFAULT_TIMEOUT = 30.0
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 300.0
MIN_INTERVAL, MAX_INTERVAL = 1.0, 7 * 24 * 3600.0
MAX_INTERVALS = 20
MAX_HEADERS = 50
MAX_SECRETS = 5
MAX_URL_LENGTH = 2048
MAX_HEADER_VALUE_LENGTH = 8192
MAX_BODY_BYTES = 1024 * 1024

IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "Callout-Attempt"
FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
ENGINE_HEADERS = frozenset({IDEMPOTENCY_HEADER.lower(), ATTEMPT_HEADER.lower()})

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
FORBIDDEN_IN_HEADER = re.compile(r"[\r\n\x00]")
OTHER_CONTROL_IN_HEADER = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")

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
        parts = urlsplit(raw)
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


def check_header_name(name: str, signature_header: str) -> str | None:
    """Return why `name` may not be an author's header, or None when it may."""
    if not TOKEN.fullmatch(name):
        return "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    lowered = name.lower()
    if lowered in FRAMING_HEADERS:
        return f"{name} is set by the engine from the request itself; remove it"
    if lowered in ENGINE_HEADERS or lowered == signature_header.lower():
        return f"{name} belongs to the engine (it signs and numbers every attempt)"
    return None


def check_header_value(value: str) -> str | None:
    """Return why `value` may not be sent as a header value, or None when it may."""
    if FORBIDDEN_IN_HEADER.search(value):
        return "must not contain CR, LF or NUL (they would split the header)"
    if OTHER_CONTROL_IN_HEADER.search(value):
        return "must not contain control characters (of those, only tab may be sent)"
    if len(value) > MAX_HEADER_VALUE_LENGTH:
        return f"is longer than {MAX_HEADER_VALUE_LENGTH} characters"
    return None


def _check_headers(
    raw: Any, path: str, rules: ReferenceRules, signature_header: str
) -> tuple[tuple[tuple[str, str], ...], list[Problem]]:
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [Problem(path, "must be a list of {key, value} pairs")]
    if len(raw) > MAX_HEADERS:
        return (), [Problem(path, f"has {len(raw)} headers; at most {MAX_HEADERS}")]
    problems: list[Problem] = []
    headers: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        here = f"{path}[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(here, "must be an object with key and value"))
            continue
        problems.extend(unknown_keys(item, ("key", "value"), here))
        key, value = item.get("key"), item.get("value")
        if not isinstance(key, str) or not key:
            problems.append(Problem(f"{here}.key", "is required: the header's name"))
        elif "{{" in key:
            problems.append(Problem(f"{here}.key", "a header name cannot hold a reference"))
        elif (why := check_header_name(key, signature_header)) is not None:
            problems.append(Problem(f"{here}.key", why))
        elif key.lower() in seen:
            problems.append(
                Problem(f"{here}.key", f"{key} is already set by {path}[{seen[key.lower()]}]")
            )
        else:
            seen[key.lower()] = index
        if not isinstance(value, str):
            problems.append(Problem(f"{here}.value", f"must be a string, not {type_name(value)}"))
        elif (why := check_header_value(value)) is not None:
            problems.append(Problem(f"{here}.value", why))
        else:
            problems.extend(check_text(value, f"{here}.value", rules))
        if isinstance(key, str) and isinstance(value, str):
            headers.append((key, value))
    return tuple(headers), problems


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


def _check_body(
    raw: Mapping[str, Any], method: str, path: str, rules: ReferenceRules
) -> list[Problem]:
    if "body" not in raw:
        return []
    if method not in METHODS_WITH_BODY:
        return [
            Problem(
                f"{path}.body",
                f"a {method} request has no body; remove it or use PATCH, POST or PUT",
            )
        ]
    body = raw["body"]
    try:
        size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return [Problem(f"{path}.body", "is not a JSON value")]
    if size > MAX_BODY_BYTES:
        return [Problem(f"{path}.body", f"is {size} bytes; at most {MAX_BODY_BYTES}")]
    return check_value(body, f"{path}.body", rules)


def _check_timeout(raw: Mapping[str, Any], path: str) -> tuple[float, list[Problem]]:
    value = raw.get("timeout", DEFAULT_TIMEOUT)
    if not _is_number(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        why = f"must be a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}"
        return DEFAULT_TIMEOUT, [Problem(f"{path}.timeout", why)]
    return float(value), []


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
    problems += _check_body(raw, method, path, rules)

    signature_header = raw.get("signature_header", DEFAULT_SIGNATURE_HEADER)
    if not isinstance(signature_header, str) or not TOKEN.fullmatch(signature_header):
        problems.append(Problem(f"{path}.signature_header", "must be a valid header name"))
        signature_header = DEFAULT_SIGNATURE_HEADER
    elif signature_header.lower() in FRAMING_HEADERS | ENGINE_HEADERS:
        problems.append(
            Problem(f"{path}.signature_header", f"{signature_header} is the engine's own header")
        )

    headers, found = _check_headers(raw.get("headers"), f"{path}.headers", rules, signature_header)
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

    continue_on_error = raw.get("continue_on_error", False)
    if not isinstance(continue_on_error, bool):
        problems.append(Problem(f"{path}.continue_on_error", "must be true or false"))

    if problems:
        return None, problems
    return (
        HttpsRequestConfig(
            url=raw["url"],
            method=method,
            body=raw.get("body"),
            has_body="body" in raw,
            headers=headers,
            response_schema=schema,
            secrets=secrets,
            signature_header=signature_header,
            retry_intervals=intervals,
            timeout=timeout,
            continue_on_error=bool(continue_on_error),
        ),
        [],
    )


def secrets_of(config: HttpsRequestConfig) -> set[str]:
    """Return the secret names a config references anywhere."""
    texts: list[Any] = [config.url, config.body, list(config.secrets)]
    texts.extend(value for _, value in config.headers)
    return referenced_secrets(texts)
