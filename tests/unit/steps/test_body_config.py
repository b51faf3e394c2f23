"""`body`, `body_type` and `content_type` of make_https_request: one test per rule."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import DocumentError
from callout.steps.https_request import HttpsRequestConfig
from callout.steps.validation import validate_workflow

FORM = [{"key": "amount", "value": "{{ trigger.amount }}"}, {"key": "currency", "value": "eur"}]


def document(**step: Any) -> dict[str, Any]:
    return {
        "name": "bodies",
        "steps": [
            {"id": "call", "action": "make_https_request", "url": "https://api.test/"} | step
        ],
    }


def problems(**step: Any) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        validate_workflow(document(**step))
    return [str(problem) for problem in caught.value.problems]


def config(**step: Any) -> HttpsRequestConfig:
    checked = validate_workflow(document(**step)).steps[0].config
    assert isinstance(checked, HttpsRequestConfig)
    return checked


def test_body_type_defaults_to_json_and_json_bodies_are_as_before() -> None:
    checked = config(body={"a": "{{ trigger.a }}"})
    assert (checked.body_type, checked.body, checked.content_type) == (
        "json",
        {"a": "{{ trigger.a }}"},
        None,
    )
    assert config(body_type="json", body=[1, 2]).body == [1, 2]


def test_form_body_is_kept_as_pairs() -> None:
    checked = config(body_type="form", body=FORM)
    assert checked.body_type == "form"
    assert checked.body == (("amount", "{{ trigger.amount }}"), ("currency", "eur"))
    assert checked.content_type is None


def test_raw_body_takes_text_plain_utf8_unless_content_type_says() -> None:
    assert config(body_type="raw", body="<a/>").content_type == "text/plain; charset=utf-8"
    xml = config(body_type="raw", body="<a/>", content_type="application/xml")
    assert (xml.body, xml.content_type) == ("<a/>", "application/xml")


def test_body_type_must_be_json_form_or_raw() -> None:
    assert problems(body_type="xml", body="x") == [
        "steps[0].body_type: must be one of json, form, raw"
    ]


def test_body_type_without_a_body_is_refused() -> None:
    assert problems(body_type="form") == [
        "steps[0].body_type: is set but the step has no body; add a body or remove it"
    ]


def test_content_type_without_a_body_is_refused() -> None:
    assert problems(content_type="application/xml") == [
        "steps[0].content_type: is set but the step has no body; add a body or remove it"
    ]


@pytest.mark.parametrize(
    ("body_type", "body"), [("json", {"a": 1}), ("form", FORM), (None, {"a": 1})]
)
def test_content_type_is_only_for_a_raw_body(body_type: str | None, body: Any) -> None:
    step: dict[str, Any] = {"body": body, "content_type": "application/xml"}
    if body_type is not None:
        step["body_type"] = body_type
    assert problems(**step) == [
        (
            "steps[0].content_type: only a raw body (body_type: raw) takes content_type; "
            "set a Content-Type header to change another body's"
        )
    ]


@pytest.mark.parametrize("value", ["xml", "", 3, "application/ xml", "text/plain,text/html"])
def test_content_type_must_be_a_media_type(value: Any) -> None:
    assert problems(body_type="raw", body="x", content_type=value) == [
        "steps[0].content_type: must be a media type such as application/xml"
    ]


def test_content_type_takes_parameters() -> None:
    checked = config(body_type="raw", body="x", content_type="text/csv; charset=utf-8")
    assert checked.content_type == "text/csv; charset=utf-8"


def test_content_type_cannot_hold_a_reference() -> None:
    assert problems(body_type="raw", body="x", content_type="{{ trigger.type }}") == [
        "steps[0].content_type: is literal text; it cannot hold a reference"
    ]


def test_content_type_cannot_hold_cr_or_lf() -> None:
    assert problems(body_type="raw", body="x", content_type="text/plain\r\nX-Evil: 1") == [
        "steps[0].content_type: must not contain CR, LF or NUL (they would split the header)"
    ]


def test_content_type_and_a_content_type_header_are_refused_together() -> None:
    found = problems(
        body_type="raw",
        body="x",
        content_type="application/xml",
        headers=[{"key": "X-A", "value": "1"}, {"key": "content-type", "value": "text/xml"}],
    )
    assert found == [
        (
            "steps[0].content_type: is set beside a Content-Type header (headers[1]); "
            "keep one or the other"
        )
    ]


def test_a_content_type_header_alone_is_allowed_with_a_raw_body() -> None:
    checked = config(
        body_type="raw", body="x", headers=[{"key": "Content-Type", "value": "text/xml"}]
    )
    assert checked.headers == (("Content-Type", "text/xml"),)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize(("body_type", "body"), [("json", {"a": 1}), ("form", FORM), ("raw", "x")])
def test_get_and_delete_refuse_every_kind_of_body(method: str, body_type: str, body: Any) -> None:
    found = problems(method=method, body_type=body_type, body=body)
    assert found == [
        f"steps[0].body: a {method} request has no body; remove it or use PATCH, POST or PUT",
        f"steps[0].body_type: a {method} request has no body; remove this too",
    ]


def test_get_without_a_body_refuses_body_type_and_content_type() -> None:
    found = problems(method="GET", body_type="raw", content_type="text/xml")
    assert found == [
        "steps[0].body_type: is set but the step has no body; add a body or remove it",
        "steps[0].content_type: is set but the step has no body; add a body or remove it",
    ]


def test_form_body_must_be_a_list_of_pairs() -> None:
    assert problems(body_type="form", body={"amount": 1}) == [
        "steps[0].body: a form body is a list of {key, value} pairs, not an object"
    ]


def test_form_body_holds_at_most_200_fields() -> None:
    fields = [{"key": f"k{index}", "value": "v"} for index in range(201)]
    assert problems(body_type="form", body=fields) == [
        "steps[0].body: has 201 form fields; at most 200"
    ]
    assert len(config(body_type="form", body=fields[:200]).body) == 200


def test_form_field_must_be_an_object_with_known_keys() -> None:
    found = problems(body_type="form", body=["a=b", {"key": "a", "value": "b", "file": "x"}])
    assert found == [
        "steps[0].body[0]: must be an object with key and value",
        "steps[0].body[1].file: unknown key (allowed: key, value)",
    ]


def test_form_field_key_is_required_and_literal() -> None:
    found = problems(
        body_type="form", body=[{"value": "b"}, {"key": "{{ trigger.k }}", "value": "b"}]
    )
    assert found == [
        "steps[0].body[0].key: is required: the form field's name",
        "steps[0].body[1].key: a form field's name is literal text; it cannot hold a reference",
    ]


def test_form_field_value_must_be_a_string() -> None:
    found = problems(body_type="form", body=[{"key": "amount", "value": 100}])
    assert found == [
        'steps[0].body[0].value: must be a string, not a number (write "10", or a reference)'
    ]


def test_form_field_value_references_are_checked() -> None:
    found = problems(body_type="form", body=[{"key": "a", "value": "{{ steps.call.body }}"}])
    assert len(found) == 1
    assert found[0].startswith(
        "steps[0].body[0].value: {{ steps.call.body }}: steps.call is this step itself"
    )


def test_form_body_is_at_most_1_mib() -> None:
    half = "x" * (512 * 1024)
    found = problems(
        body_type="form", body=[{"key": "a", "value": half}, {"key": "b", "value": half}]
    )
    assert found == ["steps[0].body: is 1048582 bytes; at most 1048576"]


def test_raw_body_must_be_text() -> None:
    assert problems(body_type="raw", body={"a": 1}) == [
        "steps[0].body: a raw body is text (a template), not an object"
    ]


def test_raw_body_is_at_most_1_mib() -> None:
    assert problems(body_type="raw", body="é" * (512 * 1024 + 1)) == [
        "steps[0].body: is 1048578 bytes; at most 1048576"
    ]
    assert config(body_type="raw", body="x" * (1024 * 1024)).has_body


def test_raw_body_references_are_checked() -> None:
    found = problems(body_type="raw", body="<id>{{ trigger.id }}</id><k>{{ secret.k }}</k>")
    assert len(found) == 1
    assert found[0].startswith("steps[0].body: {{ secret.k }}: unknown root secret")
