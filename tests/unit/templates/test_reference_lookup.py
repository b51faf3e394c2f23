"""lookup: what each root names at run time; errors name the reference and what was there."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import ResolveError
from callout.templates import Scope, lookup, parse_reference

SECRET_VALUE = "s3cr3t-VALUE-9f2c"

PAYLOAD: dict[str, Any] = {
    "data": {
        "attributes": {"name": "Ada", "score": 7, "name-first": "Ada", "nothing": None},
        "items": [{"id": "i1"}, {"id": "i2"}],
        "text": "plain",
    }
}


def make_scope(**changes: Any) -> Scope:
    values: dict[str, Any] = {
        "trigger": PAYLOAD,
        "steps": {
            "create_user": {
                "status": 201,
                "headers": {"content-type": "application/json", "x-request-id": "r-1"},
                "body": {"id": "u_1", "tags": ["a", "b"]},
            },
            "failed_step": {
                "status": 500,
                "headers": {},
                "body": None,
                "error": {
                    "type": "http_status",
                    "message": "the server answered 500",
                    "status": 500,
                    "body": {"e": 1},
                },
            },
        },
        "secrets": {"crm_token": SECRET_VALUE},
        "run": {"id": "wfr_01TEST"},
    }
    values.update(changes)
    return Scope(**values)


def resolve(expression: str, scope: Scope | None = None) -> Any:
    return lookup(parse_reference(expression), scope or make_scope())


def failure(expression: str, scope: Scope | None = None) -> str:
    with pytest.raises(ResolveError) as caught:
        resolve(expression, scope)
    assert caught.value.reference == parse_reference(expression).text
    return str(caught.value)


def test_trigger_alone_is_the_whole_payload() -> None:
    assert resolve("trigger") is PAYLOAD


def test_trigger_paths_follow_keys_indexes_and_quoted_keys() -> None:
    assert resolve("trigger.data.attributes.name") == "Ada"
    assert resolve("trigger.data.items[1].id") == "i2"
    assert resolve('trigger.data.attributes["name-first"]') == "Ada"


def test_a_null_value_is_returned_as_null() -> None:
    assert resolve("trigger.data.attributes.nothing") is None


def test_step_outputs_give_status_headers_body_and_error() -> None:
    assert resolve("steps.create_user.status") == 201
    assert resolve("steps.create_user.body.tags[0]") == "a"
    assert resolve("steps.create_user.headers")["x-request-id"] == "r-1"
    assert resolve("steps.failed_step.error.type") == "http_status"
    assert resolve("steps.failed_step.error.body.e") == 1


def test_header_names_are_found_whatever_their_case() -> None:
    assert resolve('steps.create_user.headers["Content-Type"]') == "application/json"
    assert resolve('steps.create_user.headers["X-REQUEST-ID"]') == "r-1"


def test_secrets_and_run_id_resolve() -> None:
    assert resolve("secrets.crm_token") == SECRET_VALUE
    assert resolve("run.id") == "wfr_01TEST"


def test_a_missing_key_names_the_keys_that_are_there() -> None:
    assert failure("trigger.data.attributes.email") == (
        '{{ trigger.data.attributes.email }}: trigger.data.attributes has no key "email" '
        '(it has: name, score, "name-first", nothing)'
    )


def test_a_key_into_a_string_says_it_is_a_string() -> None:
    assert failure("trigger.data.text.x") == (
        "{{ trigger.data.text.x }}: trigger.data.text is a string, not an object"
    )


def test_a_key_into_null_says_it_is_null() -> None:
    assert "trigger.data.attributes.nothing is null, not an object" in failure(
        "trigger.data.attributes.nothing.x"
    )


def test_an_index_past_the_end_says_how_long_the_list_is() -> None:
    assert failure("trigger.data.items[3]") == (
        "{{ trigger.data.items[3] }}: trigger.data.items: index 3 is out of range (list of 2)"
    )


def test_an_index_into_an_object_suggests_a_quoted_key() -> None:
    assert failure("trigger.data[0]") == (
        "{{ trigger.data[0] }}: trigger.data is an object, not a list "
        '(write ["0"] for a key named "0")'
    )


def test_a_key_into_a_list_says_it_is_a_list() -> None:
    assert "trigger.data.items is a list, not an object" in failure("trigger.data.items.id")


def test_a_long_key_list_is_cut() -> None:
    scope = make_scope(trigger={f"k{i}": i for i in range(30)})
    message = failure("trigger.nope", scope)
    assert "k19 and 10 more" in message
    assert "k20" not in message


def test_an_empty_object_says_it_has_no_keys() -> None:
    assert "(it has no keys)" in failure("trigger.a", make_scope(trigger={}))


def test_a_step_without_output_says_which_steps_have_one() -> None:
    assert failure("steps.later.body") == (
        "{{ steps.later.body }}: steps.later has no output "
        "(steps with output: create_user, failed_step)"
    )
    assert "(steps with output: none yet)" in failure("steps.a.body", make_scope(steps={}))


def test_a_step_that_did_not_fail_has_no_error() -> None:
    assert failure("steps.create_user.error.type") == (
        "{{ steps.create_user.error.type }}: steps.create_user did not fail, so it has no error"
    )


def test_step_references_must_name_a_part_of_the_output() -> None:
    assert "name a part of its output: steps.create_user.body" in failure("steps.create_user")
    assert 'steps.create_user has no part "bodyy"' in failure("steps.create_user.bodyy")
    assert "steps.create_user.status is a number; it has no parts" in failure(
        "steps.create_user.status.code"
    )
    assert "name a step by its id" in failure("steps")
    assert "name a step by its id" in failure("steps[0].body")


def test_a_missing_header_lists_the_header_names() -> None:
    assert failure('steps.create_user.headers["x-nope"]') == (
        '{{ steps.create_user.headers["x-nope"] }}: steps.create_user.headers has no header '
        '"x-nope" (it has: content-type, x-request-id)'
    )


def test_an_output_missing_its_body_says_so() -> None:
    scope = make_scope(steps={"a": {"status": 200}})
    assert "steps.a has no body" in failure("steps.a.body", scope)


def test_an_unknown_secret_names_the_secret_only() -> None:
    assert failure("secrets.other") == "{{ secrets.other }}: secret other has no value in this run"


def test_a_secret_has_no_deeper_path_and_the_error_hides_its_value() -> None:
    message = failure("secrets.crm_token.x")
    assert "secrets.<name>" in message
    assert SECRET_VALUE not in message


def test_run_has_only_an_id() -> None:
    assert failure("run.other") == "{{ run.other }}: run has only one value: run.id"
    assert "run has only one value" in failure("run")
    assert "this run has no id" in failure("run.id", make_scope(run={}))


def test_an_unknown_root_is_an_error() -> None:
    assert "unknown root stepz" in failure("stepz.a.body")


def test_scope_repr_shows_secret_names_but_never_values() -> None:
    scope = make_scope()
    shown = repr(scope)
    assert SECRET_VALUE not in shown
    assert SECRET_VALUE not in str(scope)
    assert "crm_token" in shown
    assert "wfr_01TEST" in shown


def test_scope_repr_does_not_dump_the_payload() -> None:
    assert "Ada" not in repr(make_scope())
