"""Read a document (JSON, or YAML read with JSON types only) into plain JSON values.

YAML is read with the YAML 1.2 core schema: `no`, `on`, `yes` stay strings,
`2024-01-01` stays a string, and only `true`/`false`, `null`/`~`, integers and
floats are typed. Both formats hold the rules of `json_input` (the one JSON
reader): nesting at most 64 levels (YAML's is checked while composing, before any
value is built, so a text nested 1,000 deep costs no recursion), no lone surrogates,
no NaN or infinities, integers within the 64-bit ranges, no duplicate keys. Every
error says where it is: the path, or the line and column.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from callout.model.errors import DocumentError, Problem
from callout.model.json_input import (
    MAX_JSON_DEPTH,
    JsonInputError,
    check_json_value,
    parse_json_value,
)

MAX_DOCUMENT_BYTES = 1024 * 1024
"""A workflow document or trigger payload larger than this is refused (1 MiB)."""

_CORE_RESOLVERS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+.0123456789",
    ),
)


class _CoreSchemaLoader(yaml.SafeLoader):
    """A safe loader that knows the YAML 1.2 core schema and refuses duplicate keys."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.open_containers = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Refuse aliases and nesting past the JSON depth limit, before building anything.

        Aliases: a small document must not expand into a huge one. Depth: composing
        recurses once per level, so the limit is checked here, not on the result.
        """
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed", event.start_mark
            )
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        if self.open_containers >= MAX_JSON_DEPTH:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects",
                event.start_mark,
            )
        self.open_containers += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.open_containers -= 1


for _tag, _pattern, _first in _CORE_RESOLVERS:
    _CoreSchemaLoader.add_implicit_resolver(_tag, _pattern, list(_first))


def _construct_mapping(loader: _CoreSchemaLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys must be strings, found {key!r}", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f'duplicate key "{key}"', key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_MAX_INT_DIGITS = 20  # 2**64 - 1 has 20 digits: more are out of range in any base used here


def _construct_int(loader: _CoreSchemaLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if len(text.lstrip("+-")) > _MAX_INT_DIGITS + 2:
        # Refused before int() converts it (quadratic in the digits, refused past 4,300).
        raise yaml.constructor.ConstructorError(
            None, None, f"integer out of range ({len(text)} characters)", node.start_mark
        )
    if text.startswith("0o"):
        return int(text, 8)
    if text.startswith("0x"):
        return int(text, 16)
    return int(text)


def _construct_float(loader: _CoreSchemaLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node))
    value = math.nan if text.lower().endswith((".nan", "inf")) else float(text)
    if not math.isfinite(value):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"{text} is not a JSON number (NaN and infinities are refused)",
            node.start_mark,
        )
    return value


def _refuse_tag(loader: _CoreSchemaLoader, node: yaml.Node) -> Any:
    del loader
    raise yaml.constructor.ConstructorError(
        None, None, f"tag {node.tag} is not allowed (plain JSON values only)", node.start_mark
    )


_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
for _unsafe in ("timestamp", "binary", "set", "omap", "pairs"):
    _CoreSchemaLoader.add_constructor(f"tag:yaml.org,2002:{_unsafe}", _refuse_tag)


def document_problem(error: JsonInputError, *, source: str = "document") -> Problem:
    """Return a refusal of the JSON reader as a document problem (at `steps[0].body`)."""
    path = error.path.removeprefix("$").removeprefix(".")
    return Problem(path, error.message) if path else Problem("", f"{source} {error.message}")


def parse_json(text: str | bytes, *, source: str = "document") -> Any:
    """Parse JSON text by the rules of the one JSON reader (`json_input`)."""
    try:
        return parse_json_value(text)
    except JsonInputError as exc:
        raise DocumentError([document_problem(exc, source=source)]) from None


def parse_yaml(text: str, *, source: str = "document") -> Any:
    """Parse YAML text with JSON types only (YAML 1.2 core schema)."""
    try:
        loader = _CoreSchemaLoader(text)
        try:
            value = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        raise DocumentError([Problem("", f"{source} is not valid YAML: {reason}{where}")]) from None
    except yaml.YAMLError as exc:
        raise DocumentError([Problem("", f"{source} is not valid YAML: {exc}")]) from None
    try:
        check_json_value(value)
    except JsonInputError as exc:
        raise DocumentError([document_problem(exc, source=source)]) from None
    return value


def parse_document(text: str | bytes, *, source: str = "document") -> Any:
    """Parse a document as JSON when it looks like JSON, else as YAML (JSON types only)."""
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            raise DocumentError(
                [Problem("", f"{source} is larger than {MAX_DOCUMENT_BYTES} bytes")]
            )
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError([Problem("", f"{source} is not UTF-8 text")]) from None
    if len(text) > MAX_DOCUMENT_BYTES:
        raise DocumentError([Problem("", f"{source} is larger than {MAX_DOCUMENT_BYTES} bytes")])
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith(("{", "[")):
        return parse_json(text, source=source)
    return parse_yaml(text, source=source)
