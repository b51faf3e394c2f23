"""JSON Schemas (2020-12): checked once, compiled once, remote `$ref` refused, priced.

Tenants write these schemas, so nothing in them may hold the service: they run
on jsonschema-rs with its linear-time regex engine (Rust `regex`; a pattern it
cannot express, such as a backreference or a look-around, is refused when the
schema is saved, at its path), regex programs are capped in size, and each
schema is priced when compiled (see `schema_cost`). A value whose check could
take longer than `INLINE_BUDGET_NS` is checked in a helper process that is
killed after `HELPER_TIMEOUT` seconds: the validator is native code holding the
interpreter, so a thread would not free the event loop.

A remote `$ref` would make validation fetch a URL that no guard checked, so only
references inside the schema itself (`#...`) are allowed, and the validator's
retriever refuses any other.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from callout.model.errors import Problem
from callout.model.json_output import compact_json
from callout.steps.schema_cost import SchemaTooDeep, checks_per_path

MAX_SCHEMA_PROBLEMS = 20
"""Problems listed for one instance that fails a schema (the first, by path)."""

MAX_SCHEMA_BYTES = 256 * 1024
"""The largest schema (as compact JSON) compiled: compiling holds the loop ~0.2 ms per KiB."""

MAX_CHECKS_PER_PATH = 100_000
"""The most checks a schema may make along one path of a value (see `schema_cost`)."""

REGEX_PROGRAM_BYTES = 32 * 1024
"""The largest compiled program one pattern may make; a larger one is refused when saved."""

INLINE_BUDGET_NS = 20_000_000
"""A check estimated to cost more than this (20 ms) runs in the helper process."""

NS_PER_CHECK_BYTE = 2
"""Estimated cost of one check per byte of the value (measured: 0.4-0.7 ns)."""

PATTERN_COSTS = ((1024, 250), (4 * 1024, 2_500), (REGEX_PROGRAM_BYTES, 12_000))
"""Estimated ns per byte of the value for one pattern, by the size its program fits in:
the worst measured on the linear engine for a program of that size (it is ~m x n)."""

INLINE_ERROR_CHECKS = 2048
"""Listing failures costs ~30 us each: inline only when bytes x checks stays under this."""

HELPER_LIST_CHECKS = 100_000
"""The helper lists every failure (up to the limit) while bytes x checks stays under this
(listing costs ~30 us a failure); beyond, it reports the first and says more were not listed."""

HELPER_TIMEOUT = 10.0
"""Seconds a check may take in the helper process before it is killed and the value refused."""

MAX_PROBLEM_CHARS = 300
"""A problem quoting a long value keeps its start and end around an ellipsis."""

_PATTERN_OPTIONS = jsonschema_rs.RegexOptions(size_limit=REGEX_PROGRAM_BYTES)


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"{uri} is not inside the schema; callout fetches no schema")


def _validator(schema: Any) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator(
        schema,
        validate_formats=True,
        retriever=_refuse_retrieval,
        pattern_options=_PATTERN_OPTIONS,
    )


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


def _patterns(schema: Any) -> Iterator[str]:
    """Yield the regular expressions a schema runs: `pattern`s and `patternProperties` keys."""
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            yield schema["pattern"]
        if isinstance(schema.get("patternProperties"), dict):
            yield from schema["patternProperties"]
        for value in schema.values():
            yield from _patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _patterns(item)


def _pattern_cost(pattern: str) -> int:
    """Return the ns per byte of value `pattern` may cost, from the size of its program."""
    for size, cost in PATTERN_COSTS[:-1]:
        try:
            jsonschema_rs.Draft202012Validator(
                {"pattern": pattern}, pattern_options=jsonschema_rs.RegexOptions(size_limit=size)
            )
        except jsonschema_rs.ValidationError:
            continue
        return cost
    return PATTERN_COSTS[-1][1]


def _patterns_cost(schema: Any) -> int:
    costs: dict[str, int] = {}
    total = 0
    for pattern in _patterns(schema):
        if pattern not in costs:
            costs[pattern] = _pattern_cost(pattern)
        total += costs[pattern]
    return total


def _path_text(parts: list[str | int]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def _shorten(text: str) -> str:
    if len(text) <= MAX_PROBLEM_CHARS:
        return text
    half = MAX_PROBLEM_CHARS // 2
    return f"{text[:half]} … {text[-half:]}"


def _regex_refusal(pattern: str) -> str:
    """Say why the linear engine refused `pattern`: unsupported, too large, or invalid."""
    try:
        jsonschema_rs.Draft202012Validator(
            {"pattern": pattern}, pattern_options=jsonschema_rs.FancyRegexOptions()
        )
    except jsonschema_rs.ValidationError:
        return "is not a valid regular expression"
    try:
        jsonschema_rs.Draft202012Validator(
            {"pattern": pattern}, pattern_options=jsonschema_rs.RegexOptions()
        )
    except jsonschema_rs.ValidationError:
        return (
            "uses a backreference or a look-around, which callout's linear-time regex "
            "engine does not run (it keeps one tenant's pattern from stalling the service)"
        )
    return (
        f"is too large for the regex engine: it compiles to more than "
        f"{REGEX_PROGRAM_BYTES // 1024} KiB (write fewer or smaller counted repetitions)"
    )


def _compile_problem(schema: Any, error: jsonschema_rs.ValidationError, path: str) -> Problem:
    where = f"{path}{_path_text(error.instance_path)}"
    parts = error.instance_path
    if error.message.endswith('is not a "regex"') and parts:
        if parts[-1] == "pattern":
            node: Any = schema
            for part in parts:
                node = node[part]
            return Problem(where, f"pattern {_shorten(json.dumps(node))} {_regex_refusal(node)}")
        if len(parts) >= 2 and parts[-2] == "patternProperties":
            key = str(parts[-1])
            return Problem(where, f"pattern {_shorten(json.dumps(key))} {_regex_refusal(key)}")
    return Problem(where, f"is not a valid JSON Schema: {_shorten(error.message)}")


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A checked JSON Schema, ready to validate many documents."""

    schema: Any
    _validator: jsonschema_rs.Validator = field(repr=False, compare=False)
    checks_per_path: int = field(default=1, compare=False)
    pattern_ns_per_byte: int = field(default=0, compare=False)

    def cost_ns(self, size: int) -> int:
        """Estimate (an upper bound, in ns) checking a value of `size` JSON bytes costs."""
        return size * (self.checks_per_path * NS_PER_CHECK_BYTE + self.pattern_ns_per_byte)

    def checks_inline(self, size: int) -> bool:
        """Whether a value of `size` JSON bytes is checked in this process, on this thread.

        When False, `problems` waits for the helper process: call it off the event loop
        (a thread), or use `problems_off_loop`.
        """
        return self.cost_ns(size) <= INLINE_BUDGET_NS

    def problems(self, instance: Any, *, limit: int = MAX_SCHEMA_PROBLEMS) -> list[str]:
        """Return why `instance` fails the schema (`$.path: reason`), empty when it passes.

        Cheap checks run here; a check that could be dear runs in the helper process,
        and this call waits for it (at most `HELPER_TIMEOUT` seconds).
        """
        text = compact_json(instance)
        if not self.checks_inline(len(text)):
            return self._in_helper(text, limit)
        if self._validator.is_valid(instance):
            return []
        if len(text) * self.checks_per_path > INLINE_ERROR_CHECKS:
            return self._in_helper(text, limit)
        return _listed(self._validator, instance, limit)

    async def problems_off_loop(
        self, instance: Any, *, limit: int = MAX_SCHEMA_PROBLEMS
    ) -> list[str]:
        """Like `problems`, without holding the event loop while the helper process works."""
        return await asyncio.to_thread(self.problems, instance, limit=limit)

    def _in_helper(self, text: bytes, limit: int) -> list[str]:
        request = json.dumps(
            {"schema": self.schema, "limit": limit, "checks_per_path": self.checks_per_path},
            separators=(",", ":"),
        )
        try:
            finished = subprocess.run(
                [sys.executable, "-m", "callout.steps.schema_helper"],
                input=request.encode() + b"\n" + text,
                capture_output=True,
                timeout=HELPER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            late = (
                f"$: the value was not checked against the schema within {HELPER_TIMEOUT:g} s "
                "(a large value against a costly schema); it is refused"
            )
            return [late]
        if finished.returncode != 0:
            return ["$: the value could not be checked against the schema (the checker failed)"]
        found: list[str] = json.loads(finished.stdout)
        return found


def _listed(validator: jsonschema_rs.Validator, instance: Any, limit: int) -> list[str]:
    """Return the first `limit` failures of `instance`, by path, as `$.path: reason`."""
    errors = sorted(
        validator.iter_errors(instance), key=lambda e: [str(p) for p in e.instance_path]
    )
    return [
        f"${_path_text(error.instance_path)}: {_shorten(error.message)}" for error in errors[:limit]
    ]


def list_problems(schema: Any, text: str, *, limit: int, checks_per_path: int) -> list[str]:
    """Check the JSON `text` against an already checked `schema` (the helper process's work)."""
    validator = _validator(schema)
    instance = json.loads(text)
    if len(text) * checks_per_path <= HELPER_LIST_CHECKS:
        return [] if validator.is_valid(instance) else _listed(validator, instance, limit)
    # One pass: `validate` stops at the first failure, and a valid value is checked once.
    try:
        validator.validate(instance)
    except jsonschema_rs.ValidationError as first:
        listed = f"${_path_text(first.instance_path)}: {_shorten(first.message)}"
        return [listed, "$: further problems are not listed (too many to list in time)"]
    return []


def compile_schema(schema: Any, path: str) -> tuple[CompiledSchema | None, list[Problem]]:
    """Check `schema` (found at `path`) and compile it; return problems instead of raising."""
    if not isinstance(schema, dict | bool):
        return None, [Problem(path, "must be a JSON Schema: an object (or true/false)")]
    problems = list(_remote_refs(schema, path))
    if problems:
        return None, problems
    size = len(json.dumps(schema, separators=(",", ":")))
    if size > MAX_SCHEMA_BYTES:
        return None, [
            Problem(
                path,
                f"is {size} bytes as JSON; a schema may be at most {MAX_SCHEMA_BYTES} bytes",
            )
        ]
    try:
        checks = checks_per_path(schema)
    except SchemaTooDeep:
        return None, [Problem(path, "nests too deeply through its references to be checked")]
    if checks > MAX_CHECKS_PER_PATH:
        return None, [
            Problem(
                path,
                f"could make {checks} checks on one value through its references and "
                f"combinations ($ref, allOf, anyOf...); at most {MAX_CHECKS_PER_PATH} are allowed",
            )
        ]
    try:
        validator = _validator(schema)
    except jsonschema_rs.ValidationError as exc:
        return None, [_compile_problem(schema, exc, path)]
    except jsonschema_rs.ReferencingError as exc:
        return None, [Problem(path, f"is not a valid JSON Schema: {_shorten(str(exc))}")]
    compiled = CompiledSchema(
        schema=schema,
        _validator=validator,
        checks_per_path=checks,
        pattern_ns_per_byte=_patterns_cost(schema),
    )
    return compiled, []
