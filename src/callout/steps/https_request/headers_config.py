"""The author's request headers: names, values, and the names that belong to the engine."""

from __future__ import annotations

import re
from typing import Any

from callout.model.document import type_name
from callout.model.errors import Problem
from callout.steps.https_request.pairs_config import each_pair
from callout.templates import ReferenceRules, check_text

MAX_HEADERS = 50
MAX_HEADER_VALUE_LENGTH = 8192

IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "Callout-Attempt"
FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
ENGINE_HEADERS = frozenset({IDEMPOTENCY_HEADER.lower(), ATTEMPT_HEADER.lower()})

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
FORBIDDEN_IN_HEADER = re.compile(r"[\r\n\x00]")
OTHER_CONTROL_IN_HEADER = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def check_headers(  # noqa: C901, PLR0912 - one branch per documented rule
    raw: Any, path: str, rules: ReferenceRules, signature_header: str
) -> tuple[tuple[tuple[str, str], ...], list[Problem]]:
    """Check the author's headers; return every `(name, value)` pair that is text, and problems."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [Problem(path, "must be a list of {key, value} pairs")]
    if len(raw) > MAX_HEADERS:
        return (), [Problem(path, f"has {len(raw)} headers; at most {MAX_HEADERS}")]
    problems: list[Problem] = []
    headers: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, here, key, value in each_pair(raw, path, problems):
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
