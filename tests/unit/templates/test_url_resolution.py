"""resolve_url: each inserted value is encoded for the part of the URL it lands in."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from callout.model.errors import ResolveError
from callout.templates import Scope, resolve_url
from callout.templates.resolve import url_part_after

SECRET_VALUE = "sec/ret?#value"


def scope_with(**values: Any) -> Scope:
    return Scope(trigger=values, steps={}, secrets={"token": SECRET_VALUE}, run={"id": "wfr_1"})


@pytest.mark.parametrize(
    ("literal", "part"),
    [
        ("", "host"),
        ("https", "host"),
        ("https://", "host"),
        ("https://api.", "host"),
        ("https://example.com:", "host"),
        ("https://example.com/", "path"),
        ("https://example.com/users/", "path"),
        ("https://example.com/users?", "query"),
        ("https://example.com?", "query"),
        ("https://example.com/a?b=1&c=", "query"),
        ("https://example.com/#", "fragment"),
        ("https://example.com/a?b=#", "fragment"),
        ("https://example.com/#x?y=", "fragment"),
    ],
)
def test_the_literal_text_before_a_value_decides_its_part(literal: str, part: str) -> None:
    assert url_part_after(literal) == part


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("u_1", "u_1"),
        ("a/b", "a%2Fb"),
        ("../admin", "..%2Fadmin"),
        ("a b", "a%20b"),
        ("a?b#c", "a%3Fb%23c"),
        ("50%", "50%25"),
        ("é", "%C3%A9"),
        ("a&b=c", "a%26b%3Dc"),
    ],
)
def test_a_path_value_is_fully_percent_encoded(value: str, encoded: str) -> None:
    url = resolve_url("https://api.example.com/users/{{ trigger.v }}/tags", scope_with(v=value))
    assert url == f"https://api.example.com/users/{encoded}/tags"
    assert urlsplit(url).path.count("/") == 3


def test_a_query_value_cannot_add_parameters() -> None:
    url = resolve_url(
        "https://example.com/search?q={{ trigger.q }}&page=1", scope_with(q="x&admin=1#top")
    )
    assert url == "https://example.com/search?q=x%26admin%3D1%23top&page=1"
    assert parse_qs(urlsplit(url).query) == {"q": ["x&admin=1#top"], "page": ["1"]}
    assert urlsplit(url).fragment == ""


def test_a_fragment_value_is_fully_encoded() -> None:
    url = resolve_url("https://example.com/#{{ trigger.f }}", scope_with(f="a b/c?d"))
    assert url == "https://example.com/#a%20b%2Fc%3Fd"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, "7"), (2.5, "2.5"), (True, "true"), (None, "null")],
)
def test_non_string_scalars_go_in_as_json_text(value: Any, expected: str) -> None:
    url = resolve_url("https://example.com/items/{{ trigger.v }}", scope_with(v=value))
    assert url == f"https://example.com/items/{expected}"


@pytest.mark.parametrize("value", ["api-1", "eu.api", "", "API2"])
def test_a_host_value_of_letters_digits_dashes_and_dots_goes_in_as_is(value: str) -> None:
    url = resolve_url("https://{{ trigger.h }}.example.com/x", scope_with(h=value))
    assert url == f"https://{value}.example.com/x"


def test_a_port_value_of_digits_goes_in_as_is() -> None:
    url = resolve_url("https://example.com:{{ trigger.port }}/x", scope_with(port=8443))
    assert url == "https://example.com:8443/x"


@pytest.mark.parametrize(
    "value", ["evil.com/x", "a@b", "a:1", "ex ample", "é", "a%2F", "x?y", "x#y", "a\\b"]
)
def test_a_host_value_with_any_other_character_is_refused(value: str) -> None:
    with pytest.raises(ResolveError, match=r"may contain only letters, digits, - and \."):
        resolve_url("https://{{ trigger.h }}.example.com/", scope_with(h=value))


def test_a_value_before_the_scheme_separator_follows_the_host_rule() -> None:
    assert resolve_url("{{ trigger.s }}://example.com/", scope_with(s="https")) == (
        "https://example.com/"
    )
    with pytest.raises(ResolveError):
        resolve_url("{{ trigger.s }}://example.com/", scope_with(s="https://evil/"))


def test_a_whole_reference_is_taken_as_is() -> None:
    target = "https://example.com/a b?c=d#e"
    assert resolve_url("{{ trigger.url }}", scope_with(url=target)) == target
    assert resolve_url(" {{ trigger.url }} ", scope_with(url=target)) == target


@pytest.mark.parametrize("value", [7, None, True, ["https://x"], {"u": 1}])
def test_a_whole_reference_must_be_a_string(value: Any) -> None:
    with pytest.raises(ResolveError, match="a whole URL must be text"):
        resolve_url("{{ trigger.url }}", scope_with(url=value))


@pytest.mark.parametrize("value", [["a"], {"a": 1}])
def test_an_object_or_list_inside_a_url_is_an_error(value: Any) -> None:
    with pytest.raises(ResolveError, match="only text, numbers, booleans and null"):
        resolve_url("https://example.com/{{ trigger.v }}", scope_with(v=value))


def test_a_url_without_references_is_returned_unchanged() -> None:
    url = "https://example.com/a%20b?x=1"
    assert resolve_url(url, scope_with()) is url


def test_a_secret_in_the_path_is_encoded_and_in_the_host_refused_without_its_value() -> None:
    url = resolve_url("https://example.com/{{ secrets.token }}", scope_with())
    assert url == "https://example.com/sec%2Fret%3F%23value"
    with pytest.raises(ResolveError) as caught:
        resolve_url("https://{{ secrets.token }}.example.com/", scope_with())
    assert SECRET_VALUE not in str(caught.value)


def test_text_that_cannot_be_utf8_encoded_is_a_resolve_error() -> None:
    with pytest.raises(ResolveError, match="cannot be encoded as UTF-8"):
        resolve_url("https://example.com/{{ trigger.v }}", scope_with(v="\ud800"))


def test_several_values_are_each_encoded_for_their_own_part() -> None:
    url = resolve_url(
        "https://{{ trigger.region }}.api.example.com/users/{{ trigger.id }}"
        "?email={{ trigger.email }}#{{ trigger.anchor }}",
        scope_with(region="eu-1", id="a/b", email="a+b@example.com", anchor="x y"),
    )
    assert url == ("https://eu-1.api.example.com/users/a%2Fb?email=a%2Bb%40example.com#x%20y")
