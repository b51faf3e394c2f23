"""The schema engine: linear-time regexes, refusals at the schema's path, a priced schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from callout.steps.schema import (
    HELPER_LIST_CHECKS,
    MAX_CHECKS_PER_PATH,
    MAX_PROBLEM_CHARS,
    MAX_SCHEMA_BYTES,
    CompiledSchema,
    compile_schema,
)
from callout.steps.schema_cost import MAX_VALUE_DEPTH, checks_per_path

EVIL = "a" * 40 + "!"
"""2^40 steps for `(a+)+$` on a backtracking engine: this file would never finish."""


def compiled(schema: Any) -> CompiledSchema:
    found, problems = compile_schema(schema, "schema")
    assert problems == []
    assert found is not None
    return found


def refusals(schema: Any) -> list[str]:
    found, problems = compile_schema(schema, "schema")
    assert found is None
    return [f"{problem.path}: {problem.message}" for problem in problems]


def laughs(levels: int, width: int = 10) -> dict[str, Any]:
    """Each definition refers `width` times to the next: width^levels checks of one value."""
    defs: dict[str, Any] = {
        f"l{i}": {"allOf": [{"$ref": f"#/$defs/l{i + 1}"}] * width} for i in range(levels)
    }
    defs[f"l{levels}"] = {"type": "string"}
    return {"$defs": defs, "$ref": "#/$defs/l0"}


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    schema = compiled({"type": "string", "pattern": "(a+)+$"})
    assert schema.problems(EVIL) == [f'$: "{EVIL}" does not match "(a+)+$"']
    assert schema.problems("aaaa") == []


def test_a_catastrophic_pattern_property_runs_in_linear_time() -> None:
    schema = compiled({"patternProperties": {"(a+)+$": {"type": "integer"}}})
    assert schema.problems({EVIL: "not checked: the key does not match"}) == []
    assert schema.problems({"aaa": "x"}) == ['$.aaa: "x" is not of type "integer"']


def test_format_regex_only_compiles_the_value_it_never_runs_it() -> None:
    schema = compiled({"format": "regex"})
    assert schema.problems("(a+)+$") == []
    assert schema.problems("[") == ['$: "[" is not a "regex"']


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ({"type": "string", "pattern": r"(a)\1"}, "schema.pattern"),
        ({"properties": {"x": {"pattern": "(?=a)b"}}}, "schema.properties.x.pattern"),
        ({"patternProperties": {r"(?<!a)b": {}}}, "schema.patternProperties.(?<!a)b"),
    ],
)
def test_a_pattern_the_linear_engine_cannot_run_is_refused_when_saved(
    schema: dict[str, Any], path: str
) -> None:
    [refusal] = refusals(schema)
    assert refusal.startswith(f"{path}: pattern ")
    assert "backreference or a look-around" in refusal


def test_an_invalid_pattern_is_refused_as_invalid() -> None:
    assert refusals({"pattern": "[a"}) == [
        'schema.pattern: pattern "[a" is not a valid regular expression'
    ]


def test_a_pattern_compiling_to_a_huge_program_is_refused() -> None:
    [refusal] = refusals({"pattern": r"(\w{1,100}){1,100}b"})
    assert refusal.startswith("schema.pattern: ")
    assert "too large for the regex engine" in refusal


@pytest.mark.parametrize(
    "reference", ["https://schemas.example.com/user.json", "user.json#/x", "//evil/x"]
)
def test_a_remote_reference_is_refused(reference: str) -> None:
    [refusal] = refusals({"properties": {"u": {"$ref": reference}}})
    assert refusal.startswith("schema.properties.u.$ref: ")
    assert "remote reference" in refusal


def test_another_draft_is_refused() -> None:
    assert refusals({"$schema": "http://json-schema.org/draft-07/schema#"}) == [
        "schema.$schema: only JSON Schema 2020-12 is supported (omit $schema)"
    ]


def test_a_reference_to_nothing_is_refused_when_saved() -> None:
    [refusal] = refusals({"properties": {"a": {"$ref": "#/$defs/missing"}}})
    assert refusal.startswith("schema: is not a valid JSON Schema: ")
    assert "/$defs/missing" in refusal


def test_references_inside_the_schema_work() -> None:
    schema = compiled(
        {
            "$defs": {"name": {"type": "string", "minLength": 1}},
            "properties": {"first": {"$ref": "#/$defs/name"}},
        }
    )
    assert schema.problems({"first": ""}) == ['$.first: "" is shorter than 1 character']


def test_a_schema_multiplying_itself_through_references_is_refused() -> None:
    [refusal] = refusals(laughs(8))
    assert refusal.startswith("schema: could make ")
    assert f"at most {MAX_CHECKS_PER_PATH} are allowed" in refusal


def test_a_schema_over_the_size_limit_is_refused() -> None:
    big = {"enum": ["x" * 1000] * (MAX_SCHEMA_BYTES // 1000)}
    [refusal] = refusals(big)
    assert refusal.endswith(f"a schema may be at most {MAX_SCHEMA_BYTES} bytes")


def test_a_long_quoted_value_is_cut_in_the_middle() -> None:
    schema = compiled({"type": "integer"})
    [problem] = schema.problems("x" * 10_000)
    assert len(problem) <= MAX_PROBLEM_CHARS + 10
    assert problem.startswith('$: "xxx')
    assert problem.endswith('is not of type "integer"')


def test_a_costly_check_runs_in_the_helper_process_with_the_same_answer() -> None:
    schema = compiled({"items": {"type": "string", "pattern": "^a[ab]{30}c$"}})
    value = ["ab" * 20] * 5000
    assert not schema.checks_inline(len(json.dumps(value)))
    problems = schema.problems(value)
    assert problems[0] == f'$[0]: "{"ab" * 20}" does not match "^a[ab]{{30}}c$"'
    assert len(problems) == 2
    assert problems[1] == "$: further problems are not listed (too many to list in time)"


def test_the_helper_lists_every_problem_while_it_can() -> None:
    schema = compiled({"items": {"type": "string", "pattern": "^a[ab]{30}c$"}})
    value = ["ab"] * 3000
    size = len(json.dumps(value, separators=(",", ":")))
    assert not schema.checks_inline(size)
    assert size * schema.checks_per_path <= HELPER_LIST_CHECKS
    problems = schema.problems(value, limit=5)
    assert len(problems) == 5
    assert problems[0] == '$[0]: "ab" does not match "^a[ab]{30}c$"'


def test_pricing_stops_at_the_value_depth_for_recursive_schemas() -> None:
    tree = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#"}}},
    }
    price = checks_per_path(tree)
    assert MAX_VALUE_DEPTH < price < 10 * MAX_VALUE_DEPTH
    assert compiled(tree).problems({"children": [{"children": [1]}]}) == [
        '$.children[0].children[0]: 1 is not of type "object"'
    ]


def test_pricing_counts_every_reference_and_combination() -> None:
    assert checks_per_path(laughs(3)) > 10**3
    assert checks_per_path(laughs(5)) > 10**5
    assert checks_per_path({"$ref": "#"}) < 10
    assert checks_per_path(schema=True) == 1


def test_a_pattern_is_priced_by_the_size_of_its_program() -> None:
    small = compiled({"items": {"pattern": "^[a-z][a-z0-9_]*$"}})
    large = compiled({"items": {"pattern": "a[ab]{200}c"}})
    assert small.pattern_ns_per_byte < large.pattern_ns_per_byte
    assert small.checks_inline(50_000)
    assert not large.checks_inline(50_000)


def test_text_beyond_ascii_reaches_the_helper_process_as_it_is() -> None:
    schema = compiled({"items": {"type": "string", "pattern": "^é[éb]{30}c$"}})
    value = ["é😀" * 20] * 5000
    assert not schema.checks_inline(len(json.dumps(value, ensure_ascii=False).encode()))
    problems = schema.problems(value, limit=1)
    assert problems[0] == f'$[0]: "{"é😀" * 20}" does not match "^é[éb]{{30}}c$"'
