"""Random documents, payloads and template strings (garbage included) never crash the package.

Only TemplateSyntaxError, ResolveError or our Problems come out; a whole
reference returns exactly the looked-up value; interpolation and URL encoding
round-trip.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from callout.model.errors import Problem, ResolveError
from callout.templates import (
    Reference,
    ReferenceRules,
    Scope,
    Template,
    TemplateSyntaxError,
    check_value,
    excluded_path,
    lookup,
    parse_reference,
    parse_template,
    referenced_secrets,
    resolve_text,
    resolve_url,
    resolve_value,
)

SECRET_MARK = "\u27e6secret\u27e7"

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
keys = st.sampled_from(["a", "b", "id", "data", "name-first", "", "0", "x y"]) | st.text(max_size=6)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=25,
)

FRAGMENTS = [
    "{{",
    "}}",
    "{",
    "}",
    " ",
    ".",
    "[0]",
    "[1]",
    '["a-b"]',
    "['x']",
    "[",
    "]",
    '"',
    "'",
    "\\",
    "|",
    "(",
    ")",
    "-",
    "trigger",
    "steps",
    "secrets",
    "run",
    "id",
    "a",
    "body",
    "status",
    "headers",
    "error",
    "type",
    "first",
    "second",
    "token",
    "/",
    "?",
    "#",
    "&",
    "=",
    "https://",
    "example.com",
    "\n",
]
garbage_texts = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=14).map(
    "".join
) | st.text(max_size=30)

REFERENCES = [
    "trigger",
    "trigger.a",
    "trigger.data.id",
    "trigger.b[0]",
    'trigger["name-first"]',
    "steps.first.body",
    "steps.first.body.a",
    "steps.first.status",
    "steps.first.headers.id",
    "steps.first.error.type",
    "steps.second.body",
    "steps.nope.body",
    "steps.first",
    "secrets.token",
    "secrets.token.x",
    "secrets.other",
    "run.id",
    "run.x",
    "nope.x",
]
template_texts = st.builds(
    lambda before, reference, after: f"{before}{{{{ {reference} }}}}{after}",
    st.text(max_size=6) | st.sampled_from(["https://", "https://h/", "https://h/?q=", "#"]),
    st.sampled_from(REFERENCES),
    st.text(max_size=6),
)
texts = garbage_texts | template_texts
documents = st.recursive(
    json_scalars | texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys | texts, children, max_size=4)
    ),
    max_leaves=25,
)
secret_values = st.text(min_size=1, max_size=10).map(lambda text: SECRET_MARK + text)
outputs = st.fixed_dictionaries(
    {
        "status": st.integers(100, 599),
        "headers": st.dictionaries(keys, st.text(max_size=5)),
        "body": json_values,
    },
    optional={"error": json_values},
)
scopes = st.builds(
    Scope,
    trigger=json_values,
    steps=st.dictionaries(st.sampled_from(["first", "second", "third"]), outputs, max_size=3),
    secrets=st.dictionaries(st.sampled_from(["token", "other"]), secret_values, max_size=2),
    run=st.just({"id": "wfr_01PROPERTY"}),
)
rules = st.builds(
    ReferenceRules,
    step_ids=st.just(("first", "second", "third")),
    current_step=st.sampled_from([None, "first", "second", "third", "elsewhere"]),
    response_schemas=st.dictionaries(st.sampled_from(["first", "second"]), json_values | documents),
    trigger_schema=json_values,
    secrets=st.none() | st.frozensets(st.sampled_from(["token", "other"])),
)


def render(template: Template) -> str:
    return "".join(
        part if isinstance(part, str) else f"{{{{ {part.text} }}}}" for part in template.parts
    )


@given(texts)
def test_parse_template_gives_a_template_or_a_syntax_error_with_a_column(text: str) -> None:
    error: TemplateSyntaxError | None = None
    try:
        template = parse_template(text)
    except TemplateSyntaxError as caught:
        error = caught
    if error is not None:
        assert 1 <= error.column <= len(text) + 1
        assert str(error).endswith(f"(column {error.column})")
        return
    literals = [part for part in template.parts if isinstance(part, str)]
    assert all(literals)
    assert all(
        not (isinstance(a, str) and isinstance(b, str))
        for a, b in zip(template.parts, template.parts[1:], strict=False)
    )
    assert parse_template(render(template)) == template
    only_spaces = all(not part.strip(" \t\r\n") for part in literals)
    assert (template.whole is not None) == (len(template.references) == 1 and only_spaces)


@given(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
    st.lists(
        st.text(max_size=6)
        | st.sampled_from(["\ud800", "a\udfff", '"', "\\", "}}", "{{", "\n", "\u2028"])
        | st.integers(0, 999_999_999),
        max_size=5,
    ),
)
def test_canonical_text_parses_back_to_the_same_reference(root: str, path: list[str | int]) -> None:
    reference = Reference.of(root, path)
    assert parse_reference(reference.text) == reference
    assert parse_template(f"{{{{ {reference.text} }}}}").whole == reference
    assert parse_template(f"{{{{{reference.text}}}}}").whole == reference


@given(documents, st.sampled_from(["steps[0].body", "steps[2].url", ""]), rules)
@settings(deadline=None)
def test_check_value_returns_only_problems_at_child_paths(
    document: Any, path: str, reference_rules: ReferenceRules
) -> None:
    found = check_value(document, path, reference_rules)
    assert all(isinstance(problem, Problem) for problem in found)
    assert all(problem.path.startswith(path) and problem.message for problem in found)


@given(documents)
def test_referenced_secrets_never_fails(document: Any) -> None:
    assert all(isinstance(name, str) for name in referenced_secrets(document))


@given(documents, scopes)
@settings(deadline=None)
def test_resolution_raises_only_our_errors_and_never_shows_a_secret(
    document: Any, scope: Scope
) -> None:
    messages = [repr(scope)]
    for resolve in (resolve_value, _resolve_strings_as_text, _resolve_strings_as_url):
        try:
            resolve(document, scope)
        except (TemplateSyntaxError, ResolveError) as error:
            messages.append(str(error))
    assert not any(SECRET_MARK in message for message in messages)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _resolve_strings_as_text(document: Any, scope: Scope) -> None:
    for text in _strings(document):
        assert isinstance(resolve_text(text, scope), str)


def _resolve_strings_as_url(document: Any, scope: Scope) -> None:
    for text in _strings(document):
        assert isinstance(resolve_url(text, scope), str)


@st.composite
def payload_and_path(draw: st.DrawFn) -> tuple[Any, list[str | int], Any]:
    payload = draw(json_values)
    node = payload
    path: list[str | int] = []
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        if isinstance(node, dict):
            key = draw(st.sampled_from(sorted(node)))
            path.append(key)
            node = node[key]
        else:
            index = draw(st.integers(0, len(node) - 1))
            path.append(index)
            node = node[index]
    return payload, path, node


@given(payload_and_path(), st.sampled_from(["", " ", "\n  "]))
def test_a_whole_reference_returns_exactly_the_looked_up_value(
    found: tuple[Any, list[str | int], Any], space: str
) -> None:
    payload, path, node = found
    scope = Scope(
        trigger=payload,
        steps={"first": {"status": 200, "headers": {}, "body": payload}},
        secrets={},
        run={"id": "wfr_1"},
    )
    for reference in (
        Reference.of("trigger", path),
        Reference.of("steps", ["first", "body", *path]),
    ):
        text = f"{space}{{{{ {reference.text} }}}}{space}"
        assert lookup(reference, scope) is node
        assert resolve_value(text, scope) is node
        assert resolve_value([{"k": text}], scope) == [{"k": node}]


no_braces = st.text(max_size=20).map(lambda text: text.replace("{", "").replace("}", ""))
trees_without_braces = st.recursive(
    st.none() | st.booleans() | st.integers() | no_braces,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


@given(no_braces, no_braces, st.text(max_size=20))
def test_interpolation_round_trips_for_text_without_braces(
    before: str, after: str, value: str
) -> None:
    scope = Scope(trigger={"v": value}, steps={}, secrets={}, run={})
    for resolve in (resolve_value, resolve_text, resolve_url):
        assert resolve(before, scope) == before
    template = f"{before}{{{{ trigger.v }}}}{after}"
    is_whole = not before.strip(" \t\r\n") and not after.strip(" \t\r\n")
    expected = value if is_whole else before + value + after
    assert resolve_value(template, scope) == expected
    assert resolve_text(template, scope) == expected


@given(trees_without_braces)
def test_a_tree_without_braces_resolves_to_itself(tree: Any) -> None:
    assert resolve_value(tree, Scope(trigger=None, steps={}, secrets={}, run={})) == tree


@given(st.text(), st.text(), st.text())
def test_values_cannot_change_the_structure_of_a_url(
    segment: str, query: str, fragment: str
) -> None:
    scope = Scope(trigger={"s": segment, "q": query, "f": fragment}, steps={}, secrets={}, run={})
    url = resolve_url(
        "https://api.example.com/a/{{ trigger.s }}/b?x={{ trigger.q }}&y=1#{{ trigger.f }}", scope
    )
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "api.example.com"
    pieces = parts.path.split("/")
    assert len(pieces) == 4
    assert unquote(pieces[2]) == segment
    params = parts.query.split("&")
    assert len(params) == 2
    assert params[1] == "y=1"
    assert unquote(params[0].removeprefix("x=")) == query
    assert unquote(parts.fragment) == fragment


@given(st.text(max_size=12))
def test_a_host_value_is_either_plain_or_refused(value: str) -> None:
    scope = Scope(trigger={"h": value}, steps={}, secrets={}, run={})
    try:
        url = resolve_url("https://{{ trigger.h }}.example.com/x", scope)
    except ResolveError:
        assert any(not (char.isascii() and (char.isalnum() or char in "-.")) for char in value)
        return
    assert urlsplit(url).hostname == f"{value}.example.com".lower()
    assert urlsplit(url).path == "/x"


def exact_schema(value: Any) -> Any:
    """A schema that allows `value`'s exact shape and nothing more."""
    if isinstance(value, dict):
        return {
            "type": "object",
            "properties": {key: exact_schema(item) for key, item in value.items()},
            "additionalProperties": False,
        }
    if isinstance(value, list):
        exact = {"type": "array", "items": False, "maxItems": len(value)}
        if value:  # the 2020-12 meta-schema wants a non-empty prefixItems
            exact["prefixItems"] = [exact_schema(item) for item in value]
        return exact
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    return {"type": "null"}


@given(payload_and_path())
def test_a_schema_never_excludes_a_path_present_in_a_valid_instance(
    found: tuple[Any, list[str | int], Any],
) -> None:
    payload, path, node = found
    schema = exact_schema(payload)
    jsonschema_rs.Draft202012Validator(schema).validate(payload)
    assert excluded_path(schema, "trigger", path, "the trigger schema") is None
    if isinstance(node, dict):
        absent = "absent-key" + "".join(node)  # longer than any key of node
        assert excluded_path(schema, "trigger", [*path, absent], "the trigger schema")
    if isinstance(node, list):
        assert excluded_path(schema, "trigger", [*path, len(node)], "the trigger schema")


@given(json_values | documents, st.lists(keys | st.integers(0, 5), max_size=5))
def test_the_schema_walk_never_fails_on_any_json(schema: Any, path: list[str | int]) -> None:
    why = excluded_path(schema, "trigger", path, "the trigger schema")
    assert why is None or why.startswith("trigger")
