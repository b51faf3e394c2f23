"""parse_reference: the plain-path grammar, canonical text, and syntax errors with columns."""

from __future__ import annotations

import pickle

import pytest

from callout.model.errors import CalloutError
from callout.templates import Reference, TemplateSyntaxError, format_path, parse_reference


@pytest.mark.parametrize(
    ("expression", "root", "path", "text"),
    [
        ("trigger", "trigger", (), "trigger"),
        ("run.id", "run", ("id",), "run.id"),
        (
            "steps.create_user.body.items[0]",
            "steps",
            ("create_user", "body", "items", 0),
            "steps.create_user.body.items[0]",
        ),
        (
            'trigger.data.attributes["name-first"]',
            "trigger",
            ("data", "attributes", "name-first"),
            'trigger.data.attributes["name-first"]',
        ),
        ("trigger.a['name-first']", "trigger", ("a", "name-first"), 'trigger.a["name-first"]'),
        ('trigger["plain"]', "trigger", ("plain",), "trigger.plain"),
        ("trigger.a.b[0].c", "trigger", ("a", "b", 0, "c"), "trigger.a.b[0].c"),
        ("trigger[0][12]", "trigger", (0, 12), "trigger[0][12]"),
        ('trigger[""]', "trigger", ("",), 'trigger[""]'),
        ("trigger._x.A_1", "trigger", ("_x", "A_1"), "trigger._x.A_1"),
        ('trigger["0"]', "trigger", ("0",), 'trigger["0"]'),
        ("  secrets.crm_token\t", "secrets", ("crm_token",), "secrets.crm_token"),
    ],
)
def test_a_plain_path_parses_to_root_path_and_canonical_text(
    expression: str, root: str, path: tuple[str | int, ...], text: str
) -> None:
    assert parse_reference(expression) == Reference(root=root, path=path, text=text)


@pytest.mark.parametrize(
    ("expression", "key"),
    [
        (r'trigger["a\"b"]', 'a"b'),
        (r"trigger['a\'b']", "a'b"),
        (r'trigger["a\\b"]', "a\\b"),
        (r'trigger["line\nbreak\ttab\/"]', "line\nbreak\ttab/"),
        (r'trigger["\u00e9"]', "é"),
        (r'trigger["\ud83d\ude00"]', "\U0001f600"),
        ('trigger["x}}y{{z"]', "x}}y{{z"),
        ('trigger["a b.c[0]"]', "a b.c[0]"),
    ],
)
def test_quoted_keys_take_json_escapes_and_any_character(expression: str, key: str) -> None:
    reference = parse_reference(expression)
    assert reference.path == (key,)
    assert parse_reference(reference.text) == reference


def test_canonical_text_parses_back_to_the_same_reference() -> None:
    reference = Reference.of("trigger", ["data", "name-first", 3, 'quote"d', "ok"])
    assert reference.text == 'trigger.data["name-first"][3]["quote\\"d"].ok'
    assert parse_reference(reference.text) == reference


def test_format_path_spells_names_dotted_and_other_keys_in_brackets() -> None:
    assert format_path("steps", ["a", "body", "x-y", 0]) == 'steps.a.body["x-y"][0]'


@pytest.mark.parametrize(
    ("expression", "message", "column"),
    [
        ("", "empty reference", 1),
        ("   ", "empty reference", 4),
        ("trigger | upper", 'filters ("|") are not supported', 9),
        ("trigger|upper", 'filters ("|") are not supported', 8),
        ("lower(trigger.a)", 'calls ("(") are not supported', 6),
        ("trigger.a + 1", 'operators ("+") are not supported', 11),
        ("trigger.a == 1", 'operators ("=") are not supported', 11),
        ("trigger.a.name-first", '"-" cannot be part of a dotted name', 15),
        ("trigger.a b", "spaces are not allowed inside a reference", 10),
        ("trigger. a", 'a name must follow "."', 9),
        ("trigger.a.", 'a name must follow "."', 11),
        ("trigger.items.0", "write [0] for an item of a list", 15),
        ("trigger.$ref", '"$" cannot start a name after "."', 9),
        ("trigger[-1]", "negative indexes are not supported", 9),
        ("trigger[ 0]", "spaces are not allowed inside a reference", 9),
        ("trigger[0 ]", "spaces are not allowed inside a reference", 10),
        ("trigger[x]", "expected an index such as [0]", 9),
        ("trigger[0", 'unclosed "["', 8),
        ("trigger[", 'unclosed "["', 8),
        ('trigger["a"', 'unclosed "["', 8),
        ('trigger["a', 'unclosed string: " has no closing "', 9),
        ('trigger["a"x', 'expected "]" to close the "[" at column 8', 12),
        ('trigger["\\q"]', 'unknown escape "\\q"', 10),
        ('trigger["\\u12"]', "four hex digits", 10),
        ("trigger[1234567890]", "at most 9 digits", 9),
        ("1abc", "a reference starts with a name", 1),
        ('"trigger"', "a reference starts with a name", 1),
        ("trigger.a'", 'unexpected "\'"', 10),
        ("trigger.{a}", '"{" cannot start a name', 9),
        ("trigger.é", '"é" cannot start a name', 9),
    ],
)
def test_anything_but_a_plain_path_is_a_syntax_error_with_its_column(
    expression: str, message: str, column: int
) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_reference(expression)
    assert message in str(caught.value)
    assert caught.value.column == column
    assert str(caught.value).endswith(f"(column {column})")


def test_syntax_errors_are_value_errors_and_callout_errors_that_pickle() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_reference("a | b")
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, CalloutError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 -- our own bytes
    assert (copy.reason, copy.column, str(copy)) == (error.reason, error.column, str(error))


def test_the_parser_accepts_any_root_name_the_checks_judge_it() -> None:
    assert parse_reference("stepz.a").root == "stepz"
