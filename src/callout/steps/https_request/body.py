"""Write one attempt's body: the bytes that are both signed and sent, and their Content-Type.

- `json`: compact JSON in UTF-8 (references keep their type);
- `form`: `application/x-www-form-urlencoded`, WHATWG form encoding (`urlencode`
  with `quote_plus`: a space is `+`);
- `raw`: the resolved text in UTF-8.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import quote_plus, urlencode

import orjson

from callout.model.errors import RequestRejected
from callout.steps.https_request.body_config import (
    DEFAULT_RAW_CONTENT_TYPE,
    FORM_CONTENT_TYPE,
    MAX_BODY_BYTES,
)
from callout.steps.https_request.config import HttpsRequestConfig
from callout.steps.https_request.pairs_config import NOT_UNICODE
from callout.templates import Scope, SizeBudget, resolve_text, resolve_value

JSON_CONTENT_TYPE = "application/json"


def _serialise(body: Any) -> bytes:
    """Return the body as compact JSON in UTF-8.

    Written by orjson (`json.dumps` with compact separators but for a float's exponent:
    `1e-7`, not `1e-07`); what it refuses goes through the standard library, whose
    errors name the fault.
    """
    with contextlib.suppress(TypeError):  # orjson.JSONEncodeError is a TypeError
        return orjson.dumps(body)
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise RequestRejected(f"the resolved body {NOT_UNICODE}") from None
    except RecursionError:
        raise RequestRejected("the resolved body is nested too deeply to write as JSON") from None


def _text_budget() -> SizeBudget:
    # Counted in characters: each takes at least one byte, so it stops no later than bytes.
    return SizeBudget(MAX_BODY_BYTES, what="the resolved body", unit="characters")


def _form(pairs: tuple[tuple[str, str], ...], scope: Scope) -> bytes:
    budget = _text_budget()
    resolved = [(key, resolve_text(template, scope, budget=budget)) for key, template in pairs]
    try:
        return urlencode(resolved, quote_via=quote_plus).encode("ascii")
    except UnicodeEncodeError:
        raise RequestRejected(f"the resolved body {NOT_UNICODE}") from None


def _raw(template: str, scope: Scope) -> bytes:
    text = resolve_text(template, scope, budget=_text_budget())
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise RequestRejected(f"the resolved body {NOT_UNICODE}") from None


def write_body(config: HttpsRequestConfig, scope: Scope) -> tuple[bytes, str]:
    """Resolve and encode the body; return its bytes and the Content-Type it is sent with.

    Call only for a step that has a body. Raises ResolveError or RequestRejected.
    """
    if config.body_type == "form":
        body = _form(config.body, scope)
        content_type = FORM_CONTENT_TYPE
    elif config.body_type == "raw":
        body = _raw(config.body, scope)
        content_type = config.content_type or DEFAULT_RAW_CONTENT_TYPE
    else:
        resolved = resolve_value(
            config.body, scope, budget=SizeBudget(MAX_BODY_BYTES, what="the resolved body")
        )
        body = _serialise(resolved)
        content_type = JSON_CONTENT_TYPE
    if len(body) > MAX_BODY_BYTES:  # the budget counts as it goes; this is the last word
        raise RequestRejected(f"the resolved body is {len(body)} bytes; at most {MAX_BODY_BYTES}")
    return body, content_type
