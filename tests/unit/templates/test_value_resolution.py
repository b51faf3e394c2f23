"""resolve_value and resolve_text: typed whole references, interpolation, secrets kept out."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import ResolveError
from callout.templates import Scope, TemplateSyntaxError, resolve_text, resolve_value

SECRET_VALUE = "hunter2-SECRET-value"
PAYLOAD: dict[str, Any] = {
    "name": "Ada",
    "score": 7,
    "ratio": 2.5,
    "active": True,
    "nothing": None,
    "tags": ["a", "b"],
    "address": {"city": "Oslo"},
    "braces": "{{ not a template }}",
}
SCOPE = Scope(
    trigger=PAYLOAD,
    steps={"create_user": {"status": 201, "headers": {}, "body": {"id": "u_1"}}},
    secrets={"token": SECRET_VALUE},
    run={"id": "wfr_01TEST"},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ trigger.score }}", 7),
        ("{{ trigger.ratio }}", 2.5),
        ("{{ trigger.active }}", True),
        ("{{ trigger.nothing }}", None),
        ("{{ trigger.tags }}", ["a", "b"]),
        ("{{ trigger.address }}", {"city": "Oslo"}),
        ("{{ trigger.name }}", "Ada"),
        ("  {{ trigger.score }} ", 7),
        ("{{ steps.create_user.status }}", 201),
    ],
)
def test_a_whole_reference_keeps_the_type_of_its_value(text: str, expected: Any) -> None:
    assert resolve_value(text, SCOPE) == expected
    assert type(resolve_value(text, SCOPE)) is type(expected)


def test_a_whole_reference_returns_the_looked_up_value_itself() -> None:
    assert resolve_value("{{ trigger.address }}", SCOPE) is PAYLOAD["address"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{ trigger.name }}!", "Hi Ada!"),
        ("score={{ trigger.score }}", "score=7"),
        ("ratio={{ trigger.ratio }}", "ratio=2.5"),
        ("active={{ trigger.active }}", "active=true"),
        ("nothing={{ trigger.nothing }}", "nothing=null"),
        ("{{ trigger.name }}{{ trigger.score }}", "Ada7"),
        ("run {{ run.id }}", "run wfr_01TEST"),
    ],
)
def test_inside_text_strings_go_in_raw_and_other_scalars_as_json(text: str, expected: str) -> None:
    assert resolve_value(text, SCOPE) == expected


def test_an_inserted_value_is_not_parsed_again() -> None:
    assert resolve_value("x {{ trigger.braces }}", SCOPE) == "x {{ not a template }}"


@pytest.mark.parametrize("text", ["list: {{ trigger.tags }}", "{{ trigger.address }}!"])
def test_an_object_or_list_inside_text_is_an_error(text: str) -> None:
    with pytest.raises(ResolveError, match="only text, numbers, booleans and null"):
        resolve_value(text, SCOPE)


def test_a_json_tree_resolves_every_string_and_keeps_keys_literal() -> None:
    body = {
        "{{ trigger.name }}": "{{ trigger.name }}",
        "list": ["{{ trigger.score }}", 3, None, False, {"deep": "a-{{ trigger.score }}"}],
        "plain": "no braces { here }",
    }
    assert resolve_value(body, SCOPE) == {
        "{{ trigger.name }}": "Ada",
        "list": [7, 3, None, False, {"deep": "a-7"}],
        "plain": "no braces { here }",
    }


def test_resolving_leaves_the_template_tree_unchanged() -> None:
    body = {"a": ["{{ trigger.score }}"]}
    resolve_value(body, SCOPE)
    assert body == {"a": ["{{ trigger.score }}"]}


def test_non_string_scalars_pass_through() -> None:
    for value in (1, 2.5, True, None):
        assert resolve_value(value, SCOPE) is value


def test_a_malformed_template_raises_a_syntax_error_at_run_time() -> None:
    with pytest.raises(TemplateSyntaxError):
        resolve_value("{{ trigger.name", SCOPE)


def test_the_first_unresolvable_reference_raises() -> None:
    with pytest.raises(ResolveError, match=r"^\{\{ trigger\.missing \}\}: trigger has no key"):
        resolve_value({"a": "{{ trigger.name }}", "b": "{{ trigger.missing }}"}, SCOPE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ trigger.score }}", "7"),
        ("{{ trigger.ratio }}", "2.5"),
        ("{{ trigger.active }}", "true"),
        ("{{ trigger.nothing }}", "null"),
        ("{{ trigger.name }}", "Ada"),
        (" {{ secrets.token }} ", SECRET_VALUE),
        ("Bearer {{ secrets.token }}", f"Bearer {SECRET_VALUE}"),
        ("plain", "plain"),
    ],
)
def test_resolve_text_always_gives_a_string(text: str, expected: str) -> None:
    assert resolve_text(text, SCOPE) == expected


@pytest.mark.parametrize(
    "text", ["{{ trigger.tags }}", "{{ trigger.address }}", "x{{ trigger.tags }}"]
)
def test_resolve_text_refuses_objects_and_lists(text: str) -> None:
    with pytest.raises(ResolveError, match="only text, numbers, booleans and null"):
        resolve_text(text, SCOPE)


@pytest.mark.parametrize(
    "text",
    [
        "{{ secrets.token.x }}",
        "{{ secrets.token[0] }}",
        "Bearer {{ secrets.missing }}",
        "{{ secrets }}",
    ],
)
def test_secret_errors_never_show_the_secret_value(text: str) -> None:
    with pytest.raises(ResolveError) as caught:
        resolve_text(text, SCOPE)
    assert SECRET_VALUE not in str(caught.value)
    assert SECRET_VALUE not in repr(caught.value)


def test_a_secret_that_is_not_text_is_refused_without_showing_it() -> None:
    scope = Scope(trigger=None, steps={}, secrets={"n": 12345678}, run={})  # type: ignore[dict-item]
    with pytest.raises(ResolveError, match="secret n is a number, not text") as caught:
        resolve_text("{{ secrets.n }}", scope)
    assert "12345678" not in str(caught.value)
