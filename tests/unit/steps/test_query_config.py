"""The `query` field of make_https_request: one test per rule, each problem at its path."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import DocumentError
from callout.steps.https_request import HttpsRequestConfig
from callout.steps.validation import validate_workflow

SECRETS = frozenset({"api_key"})


def document(**step: Any) -> dict[str, Any]:
    return {
        "name": "query",
        "steps": [
            {"id": "first", "action": "make_https_request", "url": "https://api.test/a"},
            {"id": "call", "action": "make_https_request", "url": "https://api.test/b"} | step,
        ],
    }


def problems(**step: Any) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        validate_workflow(document(**step), secrets=SECRETS)
    return [str(problem) for problem in caught.value.problems]


def config(**step: Any) -> HttpsRequestConfig:
    checked = validate_workflow(document(**step), secrets=SECRETS).steps[1].config
    assert isinstance(checked, HttpsRequestConfig)
    return checked


def test_query_pairs_are_kept_in_order_with_repeated_keys() -> None:
    query = [
        {"key": "tag", "value": "a"},
        {"key": "limit", "value": "{{ trigger.limit }}"},
        {"key": "tag", "value": "b"},
    ]
    assert config(query=query).query == (
        ("tag", "a"),
        ("limit", "{{ trigger.limit }}"),
        ("tag", "b"),
    )


def test_query_must_be_a_list() -> None:
    assert problems(query={"limit": "10"}) == [
        "steps[1].query: must be a list of {key, value} pairs, not an object"
    ]


def test_query_holds_at_most_50_pairs() -> None:
    query = [{"key": f"k{index}", "value": "v"} for index in range(51)]
    assert problems(query=query) == ["steps[1].query: has 51 query parameters; at most 50"]
    assert len(config(query=query[:50]).query) == 50


def test_query_item_must_be_an_object() -> None:
    assert problems(query=["limit=10"]) == [
        "steps[1].query[0]: must be an object with key and value"
    ]


def test_query_item_refuses_unknown_keys() -> None:
    found = problems(query=[{"key": "a", "value": "b", "encode": False}])
    assert found == ["steps[1].query[0].encode: unknown key (allowed: key, value)"]


def test_query_key_is_required_and_not_empty() -> None:
    found = problems(query=[{"value": "b"}, {"key": "", "value": "c"}])
    assert found == [
        "steps[1].query[0].key: is required: the query parameter's name",
        "steps[1].query[1].key: is required: the query parameter's name",
    ]


def test_query_key_cannot_hold_a_reference() -> None:
    found = problems(query=[{"key": "{{ trigger.name }}", "value": "b"}])
    assert found == [
        (
            "steps[1].query[0].key: a query parameter's name is literal text; "
            "it cannot hold a reference"
        )
    ]


def test_query_value_must_be_a_string() -> None:
    found = problems(query=[{"key": "limit", "value": 10}])
    assert found == [
        'steps[1].query[0].value: must be a string, not a number (write "10", or a reference)'
    ]


def test_query_value_is_at_most_8192_characters() -> None:
    found = problems(query=[{"key": "q", "value": "x" * 8193}])
    assert found == ["steps[1].query[0].value: is longer than 8192 characters"]
    assert config(query=[{"key": "q", "value": "x" * 8192}]).query[0][1] == "x" * 8192


def test_query_value_references_are_checked() -> None:
    found = problems(
        query=[
            {"key": "a", "value": "{{ secrets.nope }}"},
            {"key": "b", "value": "{{ steps.call.status }}"},
            {"key": "c", "value": "{{ steps.first.body.id }} {{ secrets.api_key }}"},
        ]
    )
    assert len(found) == 2
    assert found[0].startswith("steps[1].query[0].value: {{ secrets.nope }}: unknown secret nope")
    assert found[1].startswith(
        "steps[1].query[1].value: {{ steps.call.status }}: steps.call is this step itself"
    )


def test_query_value_must_be_valid_unicode() -> None:
    found = problems(query=[{"key": "a", "value": "\ud800"}])
    assert found == [
        (
            "steps[1].query[0].value: holds text that is not valid Unicode "
            "(a lone surrogate, as JSON may escape one)"
        )
    ]


def test_query_secrets_count_as_the_steps_secrets() -> None:
    document_ = document(query=[{"key": "key", "value": "{{ secrets.api_key }}"}])
    assert validate_workflow(document_, secrets=SECRETS).secret_names() == {"api_key"}
