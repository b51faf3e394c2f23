"""Decide whether a JSON Schema provably excludes a path (for checks before any run).

Only what the schema says outright counts: `type`, `properties`,
`additionalProperties`, `prefixItems`, `items`, `maxItems` and the `false`
schema. At a schema that combines others (`$ref`, `allOf`, `anyOf`, `oneOf`,
`if`, `not`...) or declares `patternProperties`, or at anything unreadable,
the walk stops and the path is accepted: a false alarm would block a valid
workflow, a missed one only defers the error to run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from callout.templates.reference import format_path

UNDECIDED_KEYWORDS = frozenset(
    {
        "$ref",
        "$dynamicRef",
        "$recursiveRef",
        "allOf",
        "anyOf",
        "oneOf",
        "if",
        "then",
        "else",
        "not",
        "dependentSchemas",
        "dependencies",
    }
)
"""At a schema with one of these keywords the walk stops and accepts the path."""

_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
    "array": "a list",
    "object": "an object",
}


def _declared_types(schema: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Return the types `type` allows, or None when it allows any or cannot be read."""
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not names:
        return None
    if not all(isinstance(name, str) and name in _TYPE_NAMES for name in names):
        return None
    return tuple(names)


def _types_text(types: Sequence[str]) -> str:
    return " or ".join(_TYPE_NAMES[name] for name in types)


def _allowed_keys(properties: Any) -> str:
    if not isinstance(properties, Mapping) or not properties:
        return "it allows no keys"
    return "it allows: " + ", ".join(str(key) for key in properties)


def _after_key(schema: Mapping[str, Any], key: str, where: str, owner: str) -> tuple[Any, str]:
    """Return the schema for `key`, or (None, why) when the schema excludes it."""
    types = _declared_types(schema)
    if types is not None and "object" not in types:
        return None, f'{where} is {_types_text(types)} in {owner}, so it has no key "{key}"'
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and key in properties:
        return properties[key], ""
    if "patternProperties" in schema:
        return True, ""
    extra = schema.get("additionalProperties", True)
    if extra is False:
        return None, f'{where} has no key "{key}" in {owner} ({_allowed_keys(properties)})'
    return extra, ""


def _after_index(schema: Mapping[str, Any], index: int, where: str, owner: str) -> tuple[Any, str]:
    """Return the schema for item `index`, or (None, why) when the schema excludes it."""
    types = _declared_types(schema)
    if types is not None and "array" not in types:
        return None, f"{where} is {_types_text(types)} in {owner}, not a list"
    limit = schema.get("maxItems")
    if isinstance(limit, int) and not isinstance(limit, bool) and index >= limit:
        return None, f"{where} has at most {limit} items in {owner}, so [{index}] cannot exist"
    prefix = schema.get("prefixItems")
    items = schema.get("items", True)
    if isinstance(prefix, list):
        if index < len(prefix):
            return prefix[index], ""
        if items is False:
            return None, (
                f"{where} has at most {len(prefix)} items in {owner}, so [{index}] cannot exist"
            )
    elif items is False:
        return None, f"{where} has no items in {owner}, so [{index}] cannot exist"
    if isinstance(items, list):  # the tuple form of older drafts: not decided here
        return True, ""
    return items, ""


def excluded_path(schema: Any, root: str, path: Sequence[str | int], owner: str) -> str | None:
    """Say why `schema` allows no value at `path` (spelled from `root`), or None if it may.

    `owner` names the schema in the message, e.g. "the trigger schema".
    """
    node = schema
    for depth, step in enumerate(path):
        where = format_path(root, path[:depth])
        if node is False:
            return f"{where} cannot have a value: {owner} allows none there"
        if not isinstance(node, Mapping) or UNDECIDED_KEYWORDS.intersection(node):
            return None
        if isinstance(step, str):
            node, why = _after_key(node, step, where, owner)
        else:
            node, why = _after_index(node, step, where, owner)
        if why:
            return why
    if node is False:
        return f"{format_path(root, path)} cannot have a value: {owner} allows none there"
    return None
