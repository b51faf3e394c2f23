"""A bound on the work a JSON Schema can do per value, fixed when the schema is compiled.

A schema is small, but `$ref` and `allOf` can multiply it: ten definitions that
each refer ten times to the next make 10^10 checks of one string from 2 KB of
schema. The validator runs in native code that holds the interpreter, so such
work cannot be interrupted once started; it has to be priced before.

The price of a schema applied to one value is its own keywords, plus every
schema applied to the same value (`allOf`, `anyOf`, `oneOf`, `not`, `if`,
`then`, `else`, `dependentSchemas`, `$ref`, `$dynamicRef`), plus the price of
what its children may be checked against (for an object key: the matching
`properties` entry, every `patternProperties`, `additionalProperties`,
`propertyNames`, `unevaluatedProperties`; for an item: the matching
`prefixItems` entry, `items`, `contains`, `unevaluatedItems`), down to
`MAX_VALUE_DEPTH` levels. So it bounds the checks made along any one path from
the root of a value to a leaf, and a whole value of N nodes costs at most N
times that. References are only `#...` (the caller refuses others), resolved in
the resource of the nearest `$id`; a reference back into a schema already being
priced for the same value adds nothing (the validator stops such cycles).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

MAX_VALUE_DEPTH = 64
"""Values nest at most this deep (callout's JSON depth limit), so schemas are priced that far."""

PRICE_CAP = 10**15
"""Prices stop growing here: beyond any limit, and small enough to stay a machine word."""

_SAME_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("not", "if", "then", "else")
_CHILD_ONE = (
    "additionalProperties",
    "propertyNames",
    "unevaluatedProperties",
    "items",
    "contains",
    "unevaluatedItems",
)
_COUNTED_LISTS = ("enum", "required")


class SchemaTooDeep(ValueError):
    """A schema whose nesting, through its references, is deeper than can be priced."""


@dataclass(slots=True)
class _Pricer:
    """Walks one schema document, pricing each (schema, depth left) once."""

    root: Any
    anchors: dict[str, Any] = field(default_factory=dict)
    resource_of: dict[int, Any] = field(default_factory=dict)
    prices: dict[tuple[int, int], int] = field(default_factory=dict)
    on_stack: set[tuple[int, int]] = field(default_factory=set)

    def index(self, schema: Any, resource: Any) -> None:
        """Record each subschema's resource (nearest `$id`) and every `$anchor`."""
        if isinstance(schema, Mapping):
            if "$id" in schema and schema is not self.root:
                resource = schema
            self.resource_of[id(schema)] = resource
            for key in ("$anchor", "$dynamicAnchor"):
                if isinstance(schema.get(key), str):
                    self.anchors.setdefault(schema[key], schema)
            for value in schema.values():
                self.index(value, resource)
        elif isinstance(schema, list):
            for item in schema:
                self.index(item, resource)

    def target(self, schema: Mapping[str, Any], reference: Any) -> Any:
        """Return the subschema a `#...` reference names, or None when it names nothing here."""
        if not isinstance(reference, str) or not reference.startswith("#"):
            return None
        fragment = reference[1:]
        if fragment and not fragment.startswith("/"):
            return self.anchors.get(fragment)
        node: Any = self.resource_of.get(id(schema), self.root)
        for raw in fragment.split("/")[1:]:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def price(self, schema: Any, depth: int) -> int:
        """Return the checks `schema` can make on a value and `depth` levels below it."""
        if not isinstance(schema, Mapping):
            return 1
        key = (id(schema), depth)
        if key in self.prices:
            return self.prices[key]
        if key in self.on_stack:
            return 0
        self.on_stack.add(key)
        try:
            total = min(self._same_value(schema, depth) + self._children(schema, depth), PRICE_CAP)
        finally:
            self.on_stack.discard(key)
        self.prices[key] = total
        return total

    def _same_value(self, schema: Mapping[str, Any], depth: int) -> int:
        # Plain loops, not generators: each level of a deep schema costs two frames only.
        total = 1 + len(schema)
        for name in _COUNTED_LISTS:
            if isinstance(schema.get(name), list):
                total += len(schema[name])
        subschemas: list[Any] = []
        for name in _SAME_VALUE_LISTS:
            if isinstance(schema.get(name), list):
                subschemas += schema[name]
        subschemas += [schema[name] for name in _SAME_VALUE_ONE if name in schema]
        if isinstance(schema.get("dependentSchemas"), Mapping):
            subschemas += schema["dependentSchemas"].values()
        subschemas += [
            self.target(schema, schema[name]) for name in ("$ref", "$dynamicRef") if name in schema
        ]
        for each in subschemas:
            total += self.price(each, depth)
        return total

    def _children(self, schema: Mapping[str, Any], depth: int) -> int:
        if depth <= 0:
            return 0
        below = depth - 1
        total = 0
        for name in _CHILD_ONE:
            if name in schema:
                total += self.price(schema[name], below)
        # A key matches one `properties` entry and an item one `prefixItems` entry: the
        # dearest counts. Every `patternProperties` entry may match the same key.
        for name in ("properties", "prefixItems"):
            found = schema.get(name)
            members = list(found.values()) if isinstance(found, Mapping) else found
            if isinstance(members, list):
                dearest = 0
                for each in members:
                    dearest = max(dearest, self.price(each, below))
                total += dearest
        if isinstance(schema.get("patternProperties"), Mapping):
            for each in schema["patternProperties"].values():
                total += self.price(each, below)
        return total


def checks_per_path(schema: Any) -> int:
    """Return a bound on the checks `schema` makes along one path of a value, root to leaf.

    Raises SchemaTooDeep when the schema, through its references, nests deeper than
    Python's stack allows to price it.
    """
    pricer = _Pricer(root=schema)
    try:
        pricer.index(schema, schema)
        return pricer.price(schema, MAX_VALUE_DEPTH)
    except RecursionError:
        raise SchemaTooDeep from None
