"""Whole-document validation: every problem at once, each with its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from callout.model.errors import DocumentError
from callout.steps.https_request import HttpsRequestConfig
from callout.steps.validation import validate_workflow
from support.documents import VALID


def document(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is ...:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return doc


def problems(doc: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        validate_workflow(doc, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_valid_document_gives_typed_configs() -> None:
    valid = validate_workflow(VALID, secrets=frozenset({"crm_token", "crm_signing"}))
    first = valid.steps[0].config
    assert isinstance(first, HttpsRequestConfig)
    assert first.retry_intervals == (5.0, 60.0, 600.0)
    assert first.timeout == 10.0
    assert valid.secret_names() == {"crm_token", "crm_signing"}


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    doc = document(
        steps__0__method="FETCH",
        steps__0__timeout=0,
        steps__1__id="Tag User",
        steps__0__headers=[{"key": "X-Evil", "value": "a\r\nX-Evil: 1"}],
    )
    found = problems(doc)
    assert any(
        p.startswith("steps[0].method: must be one of DELETE, GET, PATCH, POST, PUT") for p in found
    )
    assert any(p.startswith("steps[0].timeout:") for p in found)
    assert any(p.startswith("steps[1].id:") for p in found)
    assert any(
        p.startswith("steps[0].headers[0].value: must not contain CR, LF or NUL") for p in found
    )


def test_unknown_keys_are_refused_everywhere() -> None:
    doc = document(colour="red", steps__0__retries=3, trigger__when="now")
    found = problems(doc)
    assert any(p.startswith("colour: unknown key") for p in found)
    assert any(p.startswith("steps[0].retries: unknown key") for p in found)
    assert any(p.startswith("trigger.when: unknown key") for p in found)


def test_duplicate_step_ids_are_refused() -> None:
    found = problems(document(steps__1__id="create_user"))
    assert any('steps[1].id: "create_user" is already the id of steps[0]' in p for p in found)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_body_on_get_and_delete_is_refused(method: str) -> None:
    found = problems(document(steps__0__method=method))
    assert any(p.startswith(f"steps[0].body: a {method} request has no body") for p in found)


@pytest.mark.parametrize(
    "url", ["http://crm.example.com/users", "ftp://crm.example.com", "crm.example.com/users"]
)
def test_non_https_url_is_refused(url: str) -> None:
    found = problems(document(steps__0__url=url))
    assert any(p.startswith("steps[0].url: must start with https://") for p in found)


def test_plain_http_is_accepted_when_the_operator_allows_it() -> None:
    valid = validate_workflow(
        document(steps__0__url="http://crm.example.com/users"), allow_http=True
    )
    assert valid.steps[0].config.url == "http://crm.example.com/users"


def test_credentials_in_url_are_refused() -> None:
    found = problems(document(steps__0__url="https://user:pw@crm.example.com/"))
    assert any("must not carry credentials" in p for p in found)


@pytest.mark.parametrize("url", ["https://[::1/x", "https://[not-an-address]/x"])
def test_a_url_whose_bracketed_host_does_not_parse_is_a_problem_not_a_crash(url: str) -> None:
    assert problems(document(steps__0__url=url)) == [
        "steps[0].url: is not a valid URL (check the host in [ ])"
    ]


@pytest.mark.parametrize("name", ["Host", "Content-Length", "Transfer-Encoding", "connection"])
def test_framing_headers_are_refused(name: str) -> None:
    found = problems(document(steps__0__headers=[{"key": name, "value": "x"}]))
    assert any(p.startswith("steps[0].headers[0].key:") and "set by the engine" in p for p in found)


@pytest.mark.parametrize("name", ["Idempotency-Key", "Callout-Attempt", "persona-signature"])
def test_engine_headers_are_refused(name: str) -> None:
    found = problems(document(steps__0__headers=[{"key": name, "value": "x"}]))
    assert any(
        p.startswith("steps[0].headers[0].key:") and "belongs to the engine" in p for p in found
    )


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b"])
def test_cr_lf_nul_in_header_value_is_refused_when_saved(value: str) -> None:
    found = problems(document(steps__0__headers=[{"key": "X-A", "value": value}]))
    assert found == [
        "steps[0].headers[0].value: must not contain CR, LF or NUL (they would split the header)"
    ]


@pytest.mark.parametrize("value", ["a\x12b", "a\x1bb", "a\x7fb"])
def test_other_control_characters_in_header_value_are_refused_when_saved(value: str) -> None:
    found = problems(document(steps__0__headers=[{"key": "X-A", "value": value}]))
    assert found == [
        (
            "steps[0].headers[0].value: must not contain control characters"
            " (of those, only tab may be sent)"
        )
    ]


def test_a_tab_in_a_header_value_is_allowed() -> None:
    valid = validate_workflow(
        document(steps__0__headers=[{"key": "X-A", "value": "a\tb"}]),
        secrets=frozenset({"crm_token", "crm_signing"}),
    )
    config = valid.steps[0].config
    assert isinstance(config, HttpsRequestConfig)
    assert list(config.headers) == [("X-A", "a\tb")]


def test_header_name_with_invalid_characters_is_refused() -> None:
    found = problems(document(steps__0__headers=[{"key": "X A:", "value": "1"}]))
    assert any("not a valid header name" in p for p in found)


def test_duplicate_header_names_are_refused() -> None:
    headers = [{"key": "X-A", "value": "1"}, {"key": "x-a", "value": "2"}]
    found = problems(document(steps__0__headers=headers))
    assert any(p.startswith("steps[0].headers[1].key: x-a is already set") for p in found)


def test_invalid_response_schema_is_refused_with_its_path() -> None:
    found = problems(document(steps__0__response_schema={"type": "objekt"}))
    assert any(
        p.startswith("steps[0].response_schema.type: is not a valid JSON Schema") for p in found
    )


def test_remote_ref_in_response_schema_is_refused() -> None:
    schema = {"$ref": "https://schemas.example.com/user.json"}
    found = problems(document(steps__0__response_schema=schema))
    assert any("remote reference" in p for p in found)


def test_invalid_trigger_schema_is_refused() -> None:
    found = problems(document(trigger__schema={"type": 5}))
    assert any(p.startswith("trigger.schema.type:") for p in found)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 0),
        ("timeout", 301),
        ("timeout", True),
        ("timeout", "10"),
        ("retry_intervals", [0.5]),
        ("retry_intervals", [700000]),
        ("retry_intervals", list(range(1, 23))),
        ("retry_intervals", "5"),
    ],
)
def test_out_of_range_numbers_are_refused(field: str, value: Any) -> None:
    found = problems(document(**{f"steps__0__{field}": value}))
    assert any(p.startswith(f"steps[0].{field}") for p in found)


def test_reference_to_later_step_is_refused() -> None:
    doc = document(steps__0__url="https://crm.example.com/{{ steps.tag_user.status }}")
    found = problems(doc)
    assert any(p.startswith("steps[0].url:") and "tag_user" in p for p in found)


def test_reference_to_own_step_is_refused() -> None:
    doc = document(steps__0__body={"x": "{{ steps.create_user.status }}"})
    found = problems(doc)
    assert any(p.startswith("steps[0].body.x:") for p in found)


def test_reference_to_unknown_step_is_refused() -> None:
    doc = document(steps__1__body={"x": "{{ steps.nope.body }}"})
    found = problems(doc)
    assert any(p.startswith("steps[1].body.x:") and "nope" in p for p in found)


def test_unknown_secret_is_refused_when_secrets_are_known() -> None:
    found = problems(VALID, secrets=frozenset({"crm_token"}))
    assert any(p.startswith("steps[0].secret:") and "crm_signing" in p for p in found)


def test_path_excluded_by_earlier_response_schema_is_refused() -> None:
    doc = document(steps__1__body={"x": "{{ steps.create_user.body.email }}"})
    found = problems(doc)
    assert any(p.startswith("steps[1].body.x:") for p in found)


def test_literal_secret_is_refused() -> None:
    found = problems(document(steps__0__secret="s3cr3t"))
    assert any(p.startswith("steps[0].secret: must be exactly one reference") for p in found)
    assert all("s3cr3t" not in p for p in found)


def test_secret_list_for_rotation_is_accepted() -> None:
    doc = document(steps__0__secret=["{{ secrets.new_key }}", "{{ secrets.old_key }}"])
    valid = validate_workflow(doc)
    assert valid.steps[0].config.secrets == ("{{ secrets.new_key }}", "{{ secrets.old_key }}")


def test_unknown_action_is_refused() -> None:
    found = problems(document(steps__1__action="send_fax"))
    assert any(p.startswith('steps[1].action: unknown action "send_fax"') for p in found)


def test_missing_name_and_steps_are_reported() -> None:
    found = problems({"trigger": {}})
    assert "name: is required: a short text naming the workflow" in found
    assert "steps: is required: a list of at least one step" in found


def test_not_an_object_is_reported() -> None:
    assert problems([1, 2]) == ["a workflow must be an object, not a list"]


def test_trigger_payload_is_checked_against_the_trigger_schema() -> None:
    doc = document(trigger__schema={"type": "object", "required": ["data"]})
    valid = validate_workflow(doc)
    with pytest.raises(DocumentError, match='"data" is a required property'):
        valid.check_trigger({"other": 1})
    valid.check_trigger({"data": {}})
