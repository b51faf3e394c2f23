"""JSON Schemas (2020-12): checked once, compiled once, remote `$ref` refused.

A remote `$ref` would make validation fetch a URL that no guard checked, so
only references inside the schema itself (`#...`) are allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from jsonschema.protocols import Validator

from callout.model.errors import Problem


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


_NO_REMOTE = referencing.Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def _remote_refs(schema: Any, path: str) -> Iterator[Problem]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if (
                key in ("$ref", "$dynamicRef")
                and isinstance(value, str)
                and not value.startswith("#")
            ):
                yield Problem(
                    f"{path}.{key}",
                    f'"{value}" is a remote reference; only references inside the schema '
                    '("#/...") are allowed',
                )
            elif key == "$schema" and isinstance(value, str) and "2020-12" not in value:
                yield Problem(
                    f"{path}.$schema", "only JSON Schema 2020-12 is supported (omit $schema)"
                )
            else:
                yield from _remote_refs(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _remote_refs(item, f"{path}[{index}]")


def _instance_path(error: jsonschema.ValidationError) -> str:
    return "$" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    )


MAX_SCHEMA_PROBLEMS = 20
"""Problems listed for one instance that fails a schema (the first, by path)."""


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A checked JSON Schema, ready to validate many documents."""

    schema: Any
    _validator: Validator = field(repr=False, compare=False)

    def problems(self, instance: Any, *, limit: int = MAX_SCHEMA_PROBLEMS) -> list[str]:
        """Return why `instance` fails the schema (`$.path: reason`), empty when it passes."""
        try:
            errors = sorted(
                self._validator.iter_errors(instance),
                key=lambda e: [str(p) for p in e.absolute_path],
            )
        except referencing.exceptions.Unresolvable as exc:
            return [f"$: the schema's reference {exc.ref!r} points nowhere"]
        return [f"{_instance_path(error)}: {error.message}" for error in errors[:limit]]


def compile_schema(schema: Any, path: str) -> tuple[CompiledSchema | None, list[Problem]]:
    """Check `schema` (found at `path`) and compile it; return problems instead of raising."""
    if not isinstance(schema, dict | bool):
        return None, [Problem(path, "must be a JSON Schema: an object (or true/false)")]
    problems = list(_remote_refs(schema, path))
    if problems:
        return None, problems
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.absolute_path)
        return None, [Problem(f"{path}{where}", f"is not a valid JSON Schema: {exc.message}")]
    validator = jsonschema.Draft202012Validator(
        schema,
        registry=_NO_REMOTE,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    return CompiledSchema(schema=schema, _validator=validator), []
