"""Tenant JSON Schemas: callout's engine (jsonschema-rs, linear regexes, priced) against `jsonschema`.

Prints each figure docs/benchmarks.md quotes. `jsonschema` (pure Python, `re`
backtracking) is what callout used before; it is installed here as a
dependency of schemathesis, and skipped when absent.

    .venv/bin/python benchmarks/schemas.py
"""

from __future__ import annotations

import functools
import importlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

import jsonschema_rs

from callout.steps.schema import REGEX_PROGRAM_BYTES, CompiledSchema, compile_schema
from callout.steps.schema_cost import checks_per_path
from callout.steps.validation import validate_workflow

try:
    jsonschema: Any = importlib.import_module("jsonschema")
except ImportError:  # only a figure is lost
    jsonschema = None


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def compiled(schema: Any) -> CompiledSchema:
    found, problems = compile_schema(schema, "schema")
    assert found is not None, problems
    return found


def in_process(schema: Any) -> jsonschema_rs.Validator:
    """The validator callout compiles, called directly (no pricing, no helper)."""
    options = jsonschema_rs.RegexOptions(size_limit=REGEX_PROGRAM_BYTES)
    return jsonschema_rs.Draft202012Validator(schema, pattern_options=options)


def row(name: str, seconds: float, note: str = "") -> None:
    print(f"| {name} | {seconds * 1000:,.1f} ms | {note} |")


def large_valid() -> None:
    value = [{"id": i, "name": "x" * 10, "tags": ["a", "b"]} for i in range(25_000)]
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string", "pattern": "^x+$"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    size = len(json.dumps(value))
    ours = compiled(schema)
    native = in_process(schema)
    found, took = timed(lambda: native.is_valid(value))
    assert found
    row(f"valid {size / 2**20:.1f} MiB array, jsonschema-rs (in-process)", took)
    _, took = timed(lambda: ours.problems(value))
    row("same, `CompiledSchema.problems` (priced: helper process)", took)
    if jsonschema is not None:
        theirs = jsonschema.Draft202012Validator(schema)
        found, took = timed(lambda: theirs.is_valid(value))
        assert found
        row("same, jsonschema (pure Python)", took)


def redos() -> None:
    schema = {"type": "string", "pattern": "(a+)+$"}
    ours = compiled(schema)
    for count in (40, 1 << 20):
        text = "a" * count + "!"
        problems, took = timed(functools.partial(ours.problems, text))
        assert problems
        row(f"`(a+)+$` on {count:,} a's + `!`, callout", took)
    if jsonschema is not None:
        theirs = jsonschema.Draft202012Validator(schema)
        for count in (20, 22, 24):
            text = "a" * count + "!"
            _, took = timed(functools.partial(theirs.is_valid, text))
            row(f"`(a+)+$` on {count} a's + `!`, jsonschema", took, "doubles with each a")


def large_program() -> None:
    random.seed(1)
    text = "".join(random.choice("ab") for _ in range(1 << 20))
    ours = compiled({"pattern": "a[ab]{200}c"})
    native = in_process(ours.schema)
    _, took = timed(lambda: native.is_valid(text))
    row("`a[ab]{200}c` on 1 MiB, jsonschema-rs in-process", took, "linear, but ~m x n")
    _, took = timed(lambda: ours.problems(text))
    row("same, `CompiledSchema.problems` (helper process)", took, "the service's loop is free")


def compile_and_price() -> None:
    properties = {
        f"p{i}": {"type": "string", "pattern": f"^[a-z]{{1,{i % 50 + 1}}}$", "minLength": 1}
        for i in range(3_500)
    }
    schema = {"type": "object", "properties": properties}
    size = len(json.dumps(schema, separators=(",", ":")))
    _, took = timed(lambda: compiled(schema))
    row(f"compile a {size // 1024} KiB schema (3,500 patterns)", took)
    _, took = timed(lambda: checks_per_path(schema))
    row("  of which pricing it (Python)", took)
    defs: dict[str, Any] = {
        f"l{i}": {"allOf": [{"$ref": f"#/$defs/l{i + 1}"}] * 10} for i in range(9)
    }
    defs["l9"] = {"type": "string"}
    laughs = {"$defs": defs, "$ref": "#/$defs/l0"}
    (_, problems), took = timed(lambda: compile_schema(laughs, "schema"))
    assert problems
    row("refuse a 2 KB schema making 10^9 checks per value", took)


def hostile_document() -> None:
    steps = []
    for index in range(20):
        earlier = f"{{{{ steps.s{index - 1}.body.x }}}}" if index else ""
        steps.append(
            {
                "id": f"s{index}",
                "action": "make_https_request",
                "url": "https://api.example.com/items/{{ trigger.id }}",
                "body": {
                    f"f{j}": "{{ trigger.a }}-{{ trigger.b.c }}" + earlier for j in range(700)
                },
                "response_schema": {"type": "object", "properties": {"x": {"type": "string"}}},
            }
        )
    document = {"name": "Hostile", "steps": steps}
    _, took = timed(lambda: validate_workflow(document))
    row(
        f"validate_workflow, {len(json.dumps(document)) // 1024} KiB of templates",
        took,
        "API: in a thread",
    )


def helper_overhead() -> None:
    ours = compiled({"type": "object", "properties": {"a": {"pattern": "^x$"}}})
    _, took = timed(lambda: ours._in_helper(json.dumps({"a": "y"}).encode(), 20))  # noqa: SLF001 - the helper alone
    row("one helper process (start, import, check)", took)


def main() -> None:
    print("| case | time | note |\n|---|---|---|")
    large_valid()
    redos()
    large_program()
    compile_and_price()
    hostile_document()
    helper_overhead()


if __name__ == "__main__":
    main()
