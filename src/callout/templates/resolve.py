"""Resolve references against what a run knows: its trigger, earlier outputs, secrets, its id.

Every failure is a ResolveError naming the reference and what was there
instead. No message ever carries a value from the scope (only key names and
types), so a secret cannot leak through one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from callout.model.document import type_name
from callout.model.errors import ResolveError
from callout.templates.budget import SizeBudget, key_text
from callout.templates.reference import Reference, format_path, is_name, quote_key
from callout.templates.template import CLOSE, OPEN, Template, parse_template

STEP_PARTS = ("status", "headers", "header_values", "url", "body", "error")
"""What `steps.<id>.` may be followed by."""

HEADER_PARTS = ("headers", "header_values")
"""The parts keyed by header name, looked up ignoring case."""

MAX_LISTED_KEYS = 20
"""An error lists at most this many of the keys that were there."""

_HOST_VALUE = re.compile(r"[A-Za-z0-9.\-]*")


@dataclass(frozen=True, slots=True, repr=False)
class Scope:
    """What references resolve against during one attempt.

    `trigger` is the payload itself; `steps` maps each finished step's id to its
    output (`status`, `headers`, `body`, and `error` when it failed); `secrets`
    maps names to values; `run` is `{"id": "wfr_..."}`. The repr shows secret
    names only, never their values.
    """

    trigger: Any
    steps: Mapping[str, Mapping[str, Any]]
    secrets: Mapping[str, str]
    run: Mapping[str, Any]
    previous_secrets: Mapping[str, str] = field(default_factory=dict)
    """Secrets in a rotation's grace period, by name: their previous value, which signs
    beside the current one."""

    def __repr__(self) -> str:
        return (
            f"Scope(trigger={describe(self.trigger)}, steps={sorted(self.steps)!r}, "
            f"secrets={sorted(self.secrets)!r} (values hidden), run={dict(self.run)!r})"
        )


def describe(value: Any) -> str:
    """Name a value's JSON type for a message ("an object", "null", "a string"...)."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type_name(value)


def _list_keys(mapping: Mapping[Any, Any]) -> str:
    if not mapping:
        return "it has no keys"
    keys = [str(key) if is_name(str(key)) else quote_key(str(key)) for key in mapping]
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    more = len(keys) - MAX_LISTED_KEYS
    return f"it has: {shown}" + (f" and {more} more" if more > 0 else "")


def _descend(reference: Reference, value: Any, start: int) -> Any:
    """Follow `reference.path[start:]` from `value`."""
    path = reference.path
    for index in range(start, len(path)):
        step = path[index]
        where = format_path(reference.root, path[:index])
        if isinstance(step, str):
            if not isinstance(value, Mapping):
                raise ResolveError(reference.text, f"{where} is {describe(value)}, not an object")
            if step not in value:
                raise ResolveError(
                    reference.text,
                    f"{where} has no key {quote_key(step)} ({_list_keys(value)})",
                )
            value = value[step]
        else:
            if not isinstance(value, list | tuple):
                hint = (
                    f' (write ["{step}"] for a key named "{step}")'
                    if isinstance(value, Mapping)
                    else ""
                )
                raise ResolveError(
                    reference.text, f"{where} is {describe(value)}, not a list{hint}"
                )
            if not 0 <= step < len(value):
                raise ResolveError(
                    reference.text,
                    f"{where}: index {step} is out of range (list of {len(value)})",
                )
            value = value[step]
    return value


def _part_of(reference: Reference, output: Mapping[str, Any], step_id: str) -> Any:
    where = format_path("steps", (step_id,))
    part = reference.path[1]
    if part not in STEP_PARTS:
        raise ResolveError(
            reference.text,
            f"{where} has no part {quote_key(part)} (use status, headers, body or error)",
        )
    if part == "error" and output.get("error") is None:
        raise ResolveError(reference.text, f"{where} did not fail, so it has no error")
    if part not in output:
        raise ResolveError(reference.text, f"{where} has no {part}")
    return output[part]


def _lookup_step(reference: Reference, scope: Scope) -> Any:
    path = reference.path
    if not path or not isinstance(path[0], str):
        raise ResolveError(reference.text, "name a step by its id, e.g. steps.create_user.body")
    step_id = path[0]
    where = format_path("steps", (step_id,))
    output = scope.steps.get(step_id)
    if output is None:
        ran = ", ".join(scope.steps) or "none yet"
        raise ResolveError(reference.text, f"{where} has no output (steps with output: {ran})")
    if len(path) == 1:
        raise ResolveError(
            reference.text, f"name a part of its output: {where}.body, .status, .headers or .error"
        )
    value = _part_of(reference, output, step_id)
    if path[1] == "status" and len(path) > 2:
        raise ResolveError(reference.text, f"{where}.status is a number; it has no parts")
    if path[1] in HEADER_PARTS and len(path) > 2 and isinstance(path[2], str):
        value = _header(reference, value, path[2])
        return _descend(reference, value, 3)
    return _descend(reference, value, 2)


def _header(reference: Reference, headers: Any, name: str) -> Any:
    """Find a response header by name, ignoring case."""
    where = format_path("steps", reference.path[:2])
    if not isinstance(headers, Mapping):
        raise ResolveError(reference.text, f"{where} is {describe(headers)}, not an object")
    if name in headers:
        return headers[name]
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    listed = ", ".join(str(key) for key in list(headers)[:MAX_LISTED_KEYS]) or "none"
    raise ResolveError(
        reference.text,
        f"{where} has no header {quote_key(name)} (it has: {listed})",
    )


def _lookup_secret(reference: Reference, scope: Scope) -> str:
    path = reference.path
    if len(path) != 1 or not isinstance(path[0], str):
        raise ResolveError(reference.text, "a secret is named by one name: secrets.<name>")
    name = path[0]
    if name not in scope.secrets:
        raise ResolveError(reference.text, f"secret {name} has no value in this run")
    value = scope.secrets[name]
    if not isinstance(value, str):
        raise ResolveError(reference.text, f"secret {name} is {describe(value)}, not text")
    return value


def lookup(reference: Reference, scope: Scope) -> Any:
    """Return the value `reference` names in `scope`, exactly as it is stored there.

    Raises ResolveError naming the reference and what was there instead.
    """
    if reference.root == "trigger":
        return _descend(reference, scope.trigger, 0)
    if reference.root == "steps":
        return _lookup_step(reference, scope)
    if reference.root == "secrets":
        return _lookup_secret(reference, scope)
    if reference.root == "run":
        if reference.path != ("id",):
            raise ResolveError(reference.text, "run has only one value: run.id")
        if "id" not in scope.run:
            raise ResolveError(reference.text, "this run has no id")
        return scope.run["id"]
    raise ResolveError(
        reference.text,
        f"unknown root {reference.root} (a reference starts with trigger, steps, secrets or run)",
    )


def _as_text(reference: Reference, value: Any) -> str:
    """Write a looked-up value into text: strings raw, other scalars as JSON."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | int | float):
        try:
            return json.dumps(value)
        except ValueError:  # an integer beyond Python's digit limit
            raise ResolveError(reference.text, "is a number too long to write as text") from None
    raise ResolveError(
        reference.text,
        f"{format_path(reference.root, reference.path)} is {describe(value)}; only text, "
        "numbers, booleans and null can be placed inside text "
        "(a reference that is the whole value keeps objects and lists)",
    )


def _is_plain(text: str) -> bool:
    return OPEN not in text and CLOSE not in text


def _at(reference: Reference | None, path: tuple[str | int, ...] | None = None) -> str:
    """Say where resolution stopped: the body path, and the reference being inserted."""
    shown = f"{{{{ {reference.text} }}}}" if reference is not None else "literal text"
    return shown if path is None else f"{format_path('body', path)} ({shown})"


def _interpolate(
    template: Template,
    scope: Scope,
    budget: SizeBudget | None = None,
    path: tuple[str | int, ...] | None = None,
) -> str:
    """Join a template's literals and values; with a budget, stop before the text passes it.

    Each character takes at least one unit (byte or character) of any budget,
    so the text's length so far is checked as each piece arrives: 2,000
    references to one large value stop at the limit, not at 2,000 copies.
    """
    if budget is None:
        return "".join(
            part if isinstance(part, str) else _as_text(part, lookup(part, scope))
            for part in template.parts
        )
    pieces: list[str] = []
    length = 0
    for part in template.parts:
        piece = part if isinstance(part, str) else _as_text(part, lookup(part, scope))
        length += len(piece)
        if length > budget.remaining:
            raise budget.exceeded(_at(None if isinstance(part, str) else part, path))
        pieces.append(piece)
    return "".join(pieces)


def _resolve_string(
    text: str, scope: Scope, budget: SizeBudget | None, path: tuple[str | int, ...]
) -> Any:
    if _is_plain(text):
        if budget is not None and not budget.add_json(text):
            raise budget.exceeded(_at(None, path))
        return text
    template = parse_template(text)
    whole = template.whole
    found = (
        lookup(whole, scope) if whole is not None else _interpolate(template, scope, budget, path)
    )
    if budget is not None and not budget.add_json(found):
        raise budget.exceeded(_at(whole or template.references[-1], path))
    return found


def _resolve_node(
    value: Any, scope: Scope, budget: SizeBudget | None, path: tuple[str | int, ...]
) -> Any:
    if isinstance(value, str):
        return _resolve_string(value, scope, budget, path)
    if isinstance(value, Mapping):
        # Braces, one colon per key, a comma between entries.
        if budget is not None and not budget.add(2 + len(value) + max(len(value) - 1, 0)):
            raise budget.exceeded(_at(None, path))
        resolved: dict[Any, Any] = {}
        for key, item in value.items():
            if budget is not None and not budget.add_json(key_text(key)):
                raise budget.exceeded(_at(None, path))
            resolved[key] = _resolve_node(item, scope, budget, (*path, key))
        return resolved
    if isinstance(value, list | tuple):
        if budget is not None and not budget.add(2 + max(len(value) - 1, 0)):
            raise budget.exceeded(_at(None, path))
        return [
            _resolve_node(item, scope, budget, (*path, index)) for index, item in enumerate(value)
        ]
    if budget is not None and not budget.add_json(value):
        raise budget.exceeded(_at(None, path))
    return value


def resolve_value(value: Any, scope: Scope, *, budget: SizeBudget | None = None) -> Any:
    """Resolve every string in a JSON tree; dict keys stay literal.

    A string that is exactly one reference takes the referenced value with its
    type (null stays null, an object stays an object); other strings are
    interpolated. With a `budget` (bytes of compact JSON), the result's size is
    counted as it is built and ResolvedTooLarge stops resolution as soon as it
    passes the limit, before that memory is spent. Raises ResolveError, or
    TemplateSyntaxError for a text that validation would have refused.
    """
    return _resolve_node(value, scope, budget, ())


def resolve_text(text: str, scope: Scope, *, budget: SizeBudget | None = None) -> str:
    """Resolve `text` to a string (header values, secrets).

    A whole reference to a non-string scalar gives its JSON text (`3`, `true`,
    `null`); spaces around a whole reference are dropped; an object or a list
    is a ResolveError. With a `budget` (characters), ResolvedTooLarge stops
    resolution as soon as the text passes the limit.
    """
    if _is_plain(text):
        resolved = text
    else:
        template = parse_template(text)
        whole = template.whole
        if whole is not None:
            resolved = _as_text(whole, lookup(whole, scope))
        else:
            resolved = _interpolate(template, scope, budget)
        if budget is not None and len(resolved) > budget.remaining:
            raise budget.exceeded(_at(whole or template.references[-1]))
    if budget is not None and not budget.add(len(resolved)):
        raise budget.exceeded(_at(None))
    return resolved


def url_part_after(literal: str) -> str:
    """Name the part of a URL that text placed right after `literal` lands in.

    Anything before `://` and its authority count as "host"; then "path",
    "query" (after `?`) and "fragment" (after `#`).
    """
    scheme_end = literal.find("://")
    if scheme_end == -1:
        return "host"
    rest = literal[scheme_end + 3 :]
    if "#" in rest:
        return "fragment"
    if "?" in rest:
        return "query"
    if "/" in rest:
        return "path"
    return "host"


def _encode_for_url(reference: Reference, text: str, part: str) -> str:
    if part == "host":
        if _HOST_VALUE.fullmatch(text) is None:
            raise ResolveError(
                reference.text,
                "a value placed in the host part of a URL may contain only letters, "
                "digits, - and . (it is not percent-encoded there)",
            )
        return text
    try:
        return quote(text, safe="")
    except UnicodeEncodeError:
        raise ResolveError(
            reference.text, f"is text that cannot be encoded as UTF-8 for the URL's {part}"
        ) from None


def resolve_url(text: str, scope: Scope, *, budget: SizeBudget | None = None) -> str:
    """Resolve a URL template, percent-encoding each value for the part it lands in.

    A whole reference must be a string and is taken as is. Otherwise the
    literal text before a value decides its part: in the host a value may hold
    only letters, digits, `-` and `.`; in the path, query and fragment it is
    fully encoded (`quote(value, safe="")`), so `/`, `?`, `&`, `=`, `#` and
    spaces in a value cannot change the URL's structure. With a `budget`
    (characters), ResolvedTooLarge stops resolution as soon as the URL passes it.
    """
    if _is_plain(text):
        if budget is not None and not budget.add(len(text)):
            raise budget.exceeded(_at(None))
        return text
    template = parse_template(text)
    whole = template.whole
    if whole is not None:
        value = lookup(whole, scope)
        if not isinstance(value, str):
            raise ResolveError(
                whole.text,
                f"{format_path(whole.root, whole.path)} is {describe(value)}; "
                "a whole URL must be text",
            )
        if budget is not None and not budget.add(len(value)):
            raise budget.exceeded(_at(whole))
        return value
    literal = ""
    pieces: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            literal += part
            piece = part
        else:
            value = _as_text(part, lookup(part, scope))
            # Encoding never shortens a value: one too long already stops before it is encoded.
            if budget is not None and len(value) > budget.remaining:
                raise budget.exceeded(_at(part))
            piece = _encode_for_url(part, value, url_part_after(literal))
        if budget is not None and not budget.add(len(piece)):
            raise budget.exceeded(_at(None if isinstance(part, str) else part))
        pieces.append(piece)
    return "".join(pieces)
