"""parse_template: literals and holes, `whole`, `references`, syntax errors, and the cache."""

from __future__ import annotations

import pytest

from callout.templates import Reference, Template, TemplateSyntaxError, parse_template


def ref(text: str, root: str, *path: str | int) -> Reference:
    return Reference(root=root, path=path, text=text)


def test_text_without_braces_is_one_literal() -> None:
    assert parse_template("https://example.com/a{b}c").parts == ("https://example.com/a{b}c",)


def test_empty_text_has_no_parts_and_is_not_a_whole_reference() -> None:
    template = parse_template("")
    assert template.parts == ()
    assert template.whole is None


def test_literals_and_references_alternate_in_order() -> None:
    template = parse_template("a {{ trigger.x }}{{run.id}} b")
    assert template.parts == (
        "a ",
        ref("trigger.x", "trigger", "x"),
        ref("run.id", "run", "id"),
        " b",
    )
    assert template.references == (ref("trigger.x", "trigger", "x"), ref("run.id", "run", "id"))


def test_braces_without_spaces_equal_braces_with_spaces() -> None:
    assert parse_template("{{x.y}}") == parse_template("{{ x.y }}") == parse_template("{{\tx.y\n}}")


def test_whole_is_the_reference_when_the_text_is_exactly_one() -> None:
    assert parse_template("{{ trigger.a }}").whole == ref("trigger.a", "trigger", "a")


def test_whole_allows_whitespace_around_the_reference() -> None:
    assert parse_template("  {{ trigger.a }}\n").whole == ref("trigger.a", "trigger", "a")


@pytest.mark.parametrize(
    "text", ["x{{ trigger.a }}", "{{ trigger.a }}{{ trigger.b }}", "plain", ""]
)
def test_whole_is_none_when_the_text_is_more_or_less_than_one_reference(text: str) -> None:
    assert parse_template(text).whole is None


def test_references_keep_repeats() -> None:
    assert parse_template("{{ a }}-{{ a }}").references == (ref("a", "a"), ref("a", "a"))


def test_a_quoted_key_may_hold_closing_braces() -> None:
    assert parse_template('{{ trigger["}}"] }}!').parts == (
        ref('trigger["}}"]', "trigger", "}}"),
        "!",
    )


def test_single_braces_stay_literal_around_a_reference() -> None:
    assert parse_template("{{ a }}}").parts == (ref("a", "a"), "}")
    assert parse_template("{ {{ a }} }").parts == ("{ ", ref("a", "a"), " }")


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("abc {{ trigger.a", 'unclosed "{{"', 5),
        ("abc {{", 'unclosed "{{"', 5),
        ("{{ trigger.a }", 'expected "}}" to close the reference', 14),
        ("x {{ }} y", 'empty reference "{{ }}"', 3),
        ("{{}}", 'empty reference "{{ }}"', 1),
        ("a }} b", '"}}" without an opening "{{"', 3),
        ("{{ a }} }}", '"}}" without an opening "{{"', 9),
        ("{{ a | upper }}", 'filters ("|") are not supported', 6),
        ("{{ a(1) }}", 'calls ("(") are not supported', 5),
        ("{{ a - b }}", 'operators ("-") are not supported', 6),
        ("{{ a b }}", "spaces are not allowed inside a reference", 5),
        ("{{ a {{ b }}", "references cannot be nested", 6),
        ("{{{ a }}", "a reference starts with a name", 3),
        ('{{ "text" }}', "a reference starts with a name", 4),
        ("line one\n{{ a.0 }}", "write [0] for an item of a list", 15),
    ],
)
def test_malformed_templates_say_what_and_where(text: str, message: str, column: int) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template(text)
    assert message in str(caught.value)
    assert caught.value.column == column


def test_parsed_templates_are_cached() -> None:
    text = "cached {{ trigger.some.path }}"
    before = parse_template.cache_info().hits
    first = parse_template(text)
    second = parse_template(text)
    assert first is second
    assert parse_template.cache_info().hits > before


def test_templates_are_frozen_values() -> None:
    template = parse_template("{{ a }}")
    assert template == Template(parts=(ref("a", "a"),))
    with pytest.raises(AttributeError):
        template.parts = ()  # type: ignore[misc]
