"""The step's body fields: `body`, `body_type` (json, form, raw) and `content_type` (raw only).

- `json` (the default): any JSON value, sent as compact JSON;
- `form`: a list of `{key, value}` pairs, sent `application/x-www-form-urlencoded`;
- `raw`: one text template, sent as UTF-8 with `content_type`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from callout.model.document import type_name
from callout.model.errors import Problem
from callout.steps.https_request.headers_config import check_header_value
from callout.steps.https_request.pairs_config import NOT_UNICODE, check_pairs
from callout.templates import ReferenceRules, check_text, check_value

BodyType = Literal["json", "form", "raw"]
BODY_TYPES: tuple[BodyType, ...] = ("json", "form", "raw")
DEFAULT_BODY_TYPE: BodyType = "json"
DEFAULT_RAW_CONTENT_TYPE = "text/plain; charset=utf-8"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 1024 * 1024
METHODS_WITH_BODY = frozenset({"PATCH", "POST", "PUT"})
MAX_FORM_FIELDS = 200

_MEDIA_TYPE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;.*)?")


@dataclass(frozen=True, slots=True)
class CheckedBody:
    """A step's body as checked: `value` is JSON (json), pairs (form) or a template (raw)."""

    value: Any = None
    present: bool = False
    body_type: BodyType = DEFAULT_BODY_TYPE
    content_type: str | None = None
    """The raw body's Content-Type (None for json and form)."""


def _check_json(body: Any, path: str, rules: ReferenceRules) -> list[Problem]:
    try:
        size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return [Problem(path, "is not a JSON value")]
    if size > MAX_BODY_BYTES:
        return [Problem(path, f"is {size} bytes; at most {MAX_BODY_BYTES}")]
    return check_value(body, path, rules)


def _check_form(
    body: Any, path: str, rules: ReferenceRules
) -> tuple[tuple[tuple[str, str], ...], list[Problem]]:
    if not isinstance(body, list):
        return (), [
            Problem(path, f"a form body is a list of {{key, value}} pairs, not {type_name(body)}")
        ]
    pairs, problems = check_pairs(
        body, path, rules, what="form field", most=MAX_FORM_FIELDS, value_chars=MAX_BODY_BYTES
    )
    if problems:
        return (), problems
    size = sum(len(key.encode()) + len(value.encode()) + 2 for key, value in pairs)
    if size > MAX_BODY_BYTES:
        return (), [Problem(path, f"is {size} bytes; at most {MAX_BODY_BYTES}")]
    return pairs, []


def _check_raw(body: Any, path: str, rules: ReferenceRules) -> list[Problem]:
    if not isinstance(body, str):
        return [Problem(path, f"a raw body is text (a template), not {type_name(body)}")]
    try:
        size = len(body.encode())
    except UnicodeEncodeError:
        return [Problem(path, NOT_UNICODE)]
    if size > MAX_BODY_BYTES:
        return [Problem(path, f"is {size} bytes; at most {MAX_BODY_BYTES}")]
    return check_text(body, path, rules)


def _check_content_type(
    raw: Any, path: str, headers: tuple[tuple[str, str], ...]
) -> tuple[str | None, list[Problem]]:
    if not isinstance(raw, str) or not raw.strip():
        return None, [Problem(path, "must be a media type such as application/xml")]
    if "{{" in raw or "}}" in raw:
        return None, [Problem(path, "is literal text; it cannot hold a reference")]
    if (why := check_header_value(raw)) is not None:
        return None, [Problem(path, why)]
    if _MEDIA_TYPE.fullmatch(raw) is None:
        return None, [Problem(path, "must be a media type such as application/xml")]
    for index, (name, _) in enumerate(headers):
        if name.lower() == "content-type":
            return None, [
                Problem(
                    path,
                    f"is set beside a Content-Type header (headers[{index}]); "
                    "keep one or the other",
                )
            ]
    return raw, []


def _check_body_type(raw: Mapping[str, Any], path: str) -> tuple[BodyType | None, list[Problem]]:
    """Return the body type (None when it is not a known one) and its problem."""
    given = raw.get("body_type", DEFAULT_BODY_TYPE)
    for known in BODY_TYPES:
        if given == known:
            return known, []
    return None, [Problem(f"{path}.body_type", f"must be one of {', '.join(BODY_TYPES)}")]


def check_body(
    raw: Mapping[str, Any],
    method: str,
    path: str,
    rules: ReferenceRules,
    headers: tuple[tuple[str, str], ...],
) -> tuple[CheckedBody, list[Problem]]:
    """Check `body`, `body_type` and `content_type` together; return the body and problems.

    `headers` are the author's (a Content-Type header and `content_type` conflict).
    """
    body_type, problems = _check_body_type(raw, path)
    if "body" not in raw:
        problems += [
            Problem(f"{path}.{name}", "is set but the step has no body; add a body or remove it")
            for name in ("body_type", "content_type")
            if name in raw
        ]
        return CheckedBody(), problems
    if method not in METHODS_WITH_BODY:
        problems.append(
            Problem(
                f"{path}.body",
                f"a {method} request has no body; remove it or use PATCH, POST or PUT",
            )
        )
        problems += [
            Problem(f"{path}.{name}", f"a {method} request has no body; remove this too")
            for name in ("body_type", "content_type")
            if name in raw
        ]
        return CheckedBody(), problems
    body = raw["body"]
    content_type: str | None = None
    if "content_type" in raw:
        if body_type == "raw":
            content_type, found = _check_content_type(
                raw["content_type"], f"{path}.content_type", headers
            )
            problems += found
        else:
            problems.append(
                Problem(
                    f"{path}.content_type",
                    "only a raw body (body_type: raw) takes content_type; "
                    "set a Content-Type header to change another body's",
                )
            )
    elif body_type == "raw":
        content_type = DEFAULT_RAW_CONTENT_TYPE
    if body_type == "form":
        body, found = _check_form(body, f"{path}.body", rules)
        problems += found
    elif body_type == "raw":
        problems += _check_raw(body, f"{path}.body", rules)
    elif body_type == "json":
        problems += _check_json(body, f"{path}.body", rules)
    if problems or body_type is None:
        return CheckedBody(), problems
    return CheckedBody(body, present=True, body_type=body_type, content_type=content_type), []
