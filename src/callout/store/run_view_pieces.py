"""How a run view cuts each record, and builds it back from its cut pieces.

A record (an output, an error, a request, a response) is read as pieces, each
the JSON text of one key: tiny keys (a status, a type, a flag such as
`body_removed`) whole; text keys (a message, a URL) whole when they fit the
field's share, else their first characters and an ellipsis; containers
(headers) whole when they fit, else left out and flagged `<key>_truncated`; the
body whole when it fits, else the first characters of its text (of its JSON
text, for JSON) and `body_truncated: true`.

The SQL store cuts the pieces in SQL (`run_view.py`), so a large record never
becomes Python objects; the memory store cuts them in Python (`pieces_of`).
Both build the record with `record_from_pieces`. A piece is measured by its
JSON text as stored: compact UTF-8 on both databases, and in memory
(`json_text`), so all three cut at the same places.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from callout.model.json_input import MAX_JSON_DEPTH, JsonInputError, parse_json_value
from callout.store.run_reading import VIEW_MIN_CHARS

STORED_DEPTH = MAX_JSON_DEPTH + 3
# Records wrap values read under MAX_JSON_DEPTH (output.error.body is 3 levels down).


@dataclass(frozen=True, slots=True)
class RecordShape:
    """The keys of one kind of record: which are tiny, which are cut, which dropped."""

    tiny: tuple[str, ...]  # always small (a status, a type, a flag): kept whole
    text: tuple[str, ...]  # strings cut to the field's share (a message, a URL)
    bulky: tuple[str, ...]  # containers: whole when they fit, else left out (`<key>_truncated`)
    empty: Mapping[str, Any]  # what a left-out container shows


FLAGS = frozenset({"body_truncated", "body_removed"})
"""Tiny keys that are booleans. SQLite's JSON extraction reads `true` as 1: read back as bool."""

# `body_removed`: retention blanked the body (`body_removal.py`); the view keeps the flag,
# so a reader sees why a body is "" or null.
OUTPUT = RecordShape(
    ("status", "body_truncated", "body_removed"),
    ("url",),
    ("headers", "header_values", "error"),
    {"headers": {}, "header_values": {}},
)
ERROR = RecordShape(("type", "status", "body_truncated", "body_removed"), ("message",), (), {})
REQUEST = RecordShape(
    ("method", "body_truncated", "body_removed"), ("url",), ("headers",), {"headers": []}
)
RESPONSE = RecordShape(
    ("status", "body_truncated", "body_removed"), (), ("headers",), {"headers": []}
)


def parsed(text: str | None) -> tuple[Any, bool]:
    """Return the value of a stored JSON text, and whether it had to stay text (too deep)."""
    if text is None:
        return None, False
    try:
        return parse_json_value(text, max_depth=STORED_DEPTH), False
    except JsonInputError:
        return text, True


def _cut_text(pieces: Mapping[str, Any], key: str) -> Any:
    """Return a string piece: whole, or cut with an ellipsis."""
    cut = pieces[f"{key}__cut"]
    return cut + "…" if cut is not None else parsed(pieces[key])[0]


def _bulky(pieces: Mapping[str, Any], name: str, key: str, shape: RecordShape) -> dict[str, Any]:
    """Return a container piece whole, or its empty stand-in flagged `<key>_truncated`."""
    text = pieces[f"{name}__{key}"]
    value, deep = parsed(text)
    if text is not None and not deep:
        return {} if value is None else {key: value}
    return {key: shape.empty[key], f"{key}_truncated": True} if key in shape.empty else {}


def _body(pieces: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return the body piece: whole when it fits, else its text's start, `body_truncated`."""
    cut = pieces[f"{key}__cut"]
    if cut is not None:
        return {"body": cut, "body_truncated": True}
    body, deep = parsed(pieces[key])
    return {"body": body, "body_truncated": True} if deep else {"body": body}


def record_from_pieces(
    pieces: Mapping[str, Any], shape: RecordShape, name: str
) -> dict[str, Any] | None:
    """Build one record from its pieces: tiny keys whole, large ones cut or left out.

    `pieces` holds, for the record `name`: `<name>__null` (no record), `<name>__<key>`
    (a key's JSON text, or None when it does not fit) and `<name>__<key>__cut` (the
    first characters of a text key or the body that does not fit, else None).
    """
    if pieces[f"{name}__null"]:
        return None
    out: dict[str, Any] = {}
    for key in shape.tiny:
        value = parsed(pieces[f"{name}__{key}"])[0]
        if value is not None:
            out[key] = bool(value) if key in FLAGS else value
    for key in shape.text:
        value = _cut_text(pieces, f"{name}__{key}")
        if value is not None:
            out[key] = value
    for key in shape.bulky:
        out.update(_bulky(pieces, name, key, shape))
    out.update(_body(pieces, f"{name}__body"))
    return out


def json_text(value: Any) -> str:
    """Return a value's JSON text as the SQL stores keep it: compact UTF-8 (orjson's)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # deeper than orjson writes: only in memory, never stored in SQL
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pieces_of(record: Any, shape: RecordShape, name: str, cap: int) -> dict[str, Any]:
    """Cut a record held in memory into the pieces SQL selects (`run_view.py`).

    A key the record lacks reads as JSON null, as SQLite reads it.
    """
    pieces: dict[str, Any] = {f"{name}__null": record is None}
    if record is None:
        return pieces
    for key in shape.tiny:
        text = json_text(record.get(key))
        pieces[f"{name}__{key}"] = text if len(text) <= VIEW_MIN_CHARS else None
    for key in (*shape.text, *shape.bulky, "body"):
        value = record.get(key)
        text = json_text(value)
        fits = len(text) <= cap
        pieces[f"{name}__{key}"] = text if fits else None
        if key not in shape.bulky:
            shown = value if isinstance(value, str) else text
            pieces[f"{name}__{key}__cut"] = None if fits else shown[:cap]
    return pieces
