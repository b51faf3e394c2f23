"""The `header_values` and `url` outputs: typed in the reference check, found when resolved."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import DocumentError, ResolveError
from callout.steps.validation import validate_workflow
from callout.templates import Scope, resolve_text, resolve_value


def document(reference: str) -> dict[str, Any]:
    return {
        "name": "outputs",
        "steps": [
            {"id": "a", "action": "make_https_request", "url": "https://api.test/a"},
            {
                "id": "b",
                "action": "make_https_request",
                "url": "https://api.test/b",
                "body": {"seen": reference},
            },
        ],
    }


def problems(reference: str) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        validate_workflow(document(reference))
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    "reference",
    [
        "{{ steps.a.url }}",
        "{{ steps.a.header_values }}",
        '{{ steps.a.header_values["set-cookie"] }}',
        '{{ steps.a.header_values["set-cookie"][0] }}',
        "{{ steps.a.header_values.etag[1] }}",
        "{{ steps.a.headers.etag }}",
    ],
)
def test_url_and_header_values_references_are_accepted(reference: str) -> None:
    validate_workflow(document(reference))


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        ("{{ steps.a.url.host }}", "steps.a.url is text; it has no parts"),
        ("{{ steps.a.url[0] }}", "steps.a.url is text; it has no parts"),
        (
            "{{ steps.a.header_values[0] }}",
            "steps.a.header_values is an object of header names, not a list",
        ),
        (
            "{{ steps.a.header_values.etag.first }}",
            (
                "steps.a.header_values.etag is a list of text (one per value received); "
                "use steps.a.header_values.etag[0]"
            ),
        ),
        (
            '{{ steps.a.header_values["set-cookie"][0].name }}',
            'steps.a.header_values["set-cookie"][0] is text; a header value has no parts',
        ),
        ("{{ steps.a.headers.etag[0] }}", "steps.a.headers.etag is text; a header has no parts"),
    ],
)
def test_paths_into_url_and_header_values_that_cannot_exist_are_refused(
    reference: str, why: str
) -> None:
    assert problems(reference) == [f"steps[1].body.seen: {reference}: {why}"]


def scope() -> Scope:
    output = {
        "status": 200,
        "headers": {"set-cookie": "[redacted], [redacted]", "x-multi": "1, 2"},
        "header_values": {"set-cookie": ["[redacted]", "[redacted]"], "x-multi": ["1", "2"]},
        "url": "https://api.test/final?page=2",
        "body": None,
    }
    return Scope(trigger={}, steps={"a": output}, secrets={}, run={"id": "wfr_1"})


def test_header_values_resolve_by_name_ignoring_case_and_keep_every_value() -> None:
    assert resolve_text('{{ steps.a.header_values["X-Multi"][1] }}', scope()) == "2"
    assert resolve_value('{{ steps.a.header_values["x-multi"] }}', scope()) == ["1", "2"]
    assert resolve_text("{{ steps.a.url }}", scope()) == "https://api.test/final?page=2"


def test_a_missing_header_name_says_which_headers_there_are() -> None:
    with pytest.raises(ResolveError) as caught:
        resolve_text('{{ steps.a.header_values["etag"][0] }}', scope())
    assert 'has no header "etag" (it has: set-cookie, x-multi)' in str(caught.value)
