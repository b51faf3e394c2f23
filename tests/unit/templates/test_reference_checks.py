"""check_text / check_value: every faulty reference becomes a Problem at its field's path."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import Problem
from callout.templates import (
    ReferenceRules,
    check_text,
    check_value,
    json_path,
    referenced_secrets,
)

RULES = ReferenceRules(
    step_ids=("create_user", "tag_user", "notify"),
    current_step="tag_user",
    response_schemas={},
    secrets=frozenset({"crm_token", "crm_signing"}),
)


def messages(text: str, rules: ReferenceRules = RULES) -> list[str]:
    return [problem.message for problem in check_text(text, "steps[1].url", rules)]


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/{{ steps.create_user.body.id }}",
        "{{ steps.create_user.status }}",
        "{{ steps.create_user.headers }}",
        '{{ steps.create_user.headers["Content-Type"] }}',
        "{{ steps.create_user.error }}",
        "{{ steps.create_user.error.type }}",
        "{{ steps.create_user.error.body.detail[0] }}",
        "{{ trigger }}",
        '{{ trigger.data.attributes["name-first"] }}',
        "{{ secrets.crm_token }}",
        "{{ run.id }}",
        "plain text { with } single braces",
    ],
)
def test_valid_references_have_no_problems(text: str) -> None:
    assert messages(text) == []


def test_a_syntax_error_is_a_problem_at_the_field_path() -> None:
    assert check_text("https://x/{{ a | b }}", "steps[0].url", RULES) == [
        Problem(
            "steps[0].url",
            'filters ("|") are not supported: a reference is a plain path such as '
            "trigger.data.id (column 16)",
        )
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{{ steps.nope.body }}",
            '{{ steps.nope.body }}: unknown step "nope" (steps: create_user, tag_user, notify)',
        ),
        (
            "{{ steps.create_usr.body }}",
            (
                '{{ steps.create_usr.body }}: unknown step "create_usr" '
                "(steps: create_user, tag_user, notify); did you mean create_user?"
            ),
        ),
        (
            "{{ steps.tag_user.body }}",
            (
                "{{ steps.tag_user.body }}: steps.tag_user is this step itself; "
                "a step can use only the output of earlier steps"
            ),
        ),
        (
            "{{ steps.notify.status }}",
            (
                "{{ steps.notify.status }}: steps.notify is a later step (steps[2]); "
                "a step can use only the output of earlier steps"
            ),
        ),
        (
            "{{ steps.create_user.bodyy }}",
            (
                '{{ steps.create_user.bodyy }}: steps.create_user has no part "bodyy" '
                "(use status, headers, body or error)"
            ),
        ),
        (
            "{{ steps.create_user }}",
            (
                "{{ steps.create_user }}: name a part of its output: steps.create_user.body, "
                ".status, .headers or .error"
            ),
        ),
        ("{{ steps }}", "{{ steps }}: name a step by its id, e.g. steps.create_user.body"),
        (
            "{{ steps[0].body }}",
            "{{ steps[0].body }}: name a step by its id, e.g. steps.create_user.body",
        ),
        (
            "{{ steps.create_user.status.code }}",
            (
                "{{ steps.create_user.status.code }}: steps.create_user.status is a number; "
                "it has no parts"
            ),
        ),
        (
            "{{ steps.create_user.headers[0] }}",
            (
                "{{ steps.create_user.headers[0] }}: steps.create_user.headers is an object of "
                "header names, not a list"
            ),
        ),
        (
            "{{ steps.create_user.headers.etag.x }}",
            (
                "{{ steps.create_user.headers.etag.x }}: steps.create_user.headers.etag is text; "
                "a header has no parts"
            ),
        ),
        (
            "{{ steps.create_user.error.code }}",
            (
                '{{ steps.create_user.error.code }}: steps.create_user.error has no part "code" '
                "(use type, message, status or body)"
            ),
        ),
        (
            "{{ steps.create_user.error.message.x }}",
            (
                "{{ steps.create_user.error.message.x }}: steps.create_user.error.message is text; "
                "it has no parts"
            ),
        ),
        (
            "{{ steps.create_user.error.status[0] }}",
            (
                "{{ steps.create_user.error.status[0] }}: steps.create_user.error.status is a "
                "number; it has no parts"
            ),
        ),
        ("{{ run.attempt }}", "{{ run.attempt }}: run has only one value: run.id"),
        ("{{ run }}", "{{ run }}: run has only one value: run.id"),
        (
            "{{ secrets.crm_token.value }}",
            "{{ secrets.crm_token.value }}: secrets.crm_token is text; a secret has no parts",
        ),
        ("{{ secrets }}", "{{ secrets }}: name a secret: secrets.<name>"),
        (
            '{{ secrets["crm-token"] }}',
            (
                '{{ secrets["crm-token"] }}: "crm-token" is not a secret name '
                "(letters, digits and _, not starting with a digit)"
            ),
        ),
        (
            "{{ secrets.crm_tokn }}",
            (
                "{{ secrets.crm_tokn }}: unknown secret crm_tokn "
                "(known secrets: crm_signing, crm_token); did you mean crm_token?"
            ),
        ),
        (
            "{{ payload.id }}",
            (
                "{{ payload.id }}: unknown root payload "
                "(a reference starts with trigger, steps, secrets or run)"
            ),
        ),
        (
            "{{ secret.crm_token }}",
            (
                "{{ secret.crm_token }}: unknown root secret "
                "(a reference starts with trigger, steps, secrets or run); did you mean secrets?"
            ),
        ),
    ],
)
def test_each_faulty_reference_says_what_is_wrong(text: str, message: str) -> None:
    assert messages(text) == [message]


def test_unknown_secrets_are_not_checked_when_the_names_are_unknown() -> None:
    rules = ReferenceRules(step_ids=(), current_step=None, response_schemas={})
    assert messages("{{ secrets.anything }}", rules) == []


def test_an_empty_secret_set_says_none_are_known() -> None:
    rules = ReferenceRules(step_ids=(), current_step=None, response_schemas={}, secrets=frozenset())
    assert messages("{{ secrets.x }}", rules) == [
        "{{ secrets.x }}: unknown secret x (known secrets: none)"
    ]


def test_outside_a_step_every_known_step_may_be_named() -> None:
    rules = ReferenceRules(step_ids=("a", "b"), current_step=None, response_schemas={})
    assert messages("{{ steps.b.body }}", rules) == []
    assert messages("{{ steps.c.body }}", rules) == [
        '{{ steps.c.body }}: unknown step "c" (steps: a, b)'
    ]


def test_every_faulty_reference_in_a_text_is_reported() -> None:
    found = messages("{{ steps.notify.body }}/{{ run.x }}/{{ secrets.nope }}/{{ trigger.ok }}")
    assert len(found) == 3
    assert found[0].startswith("{{ steps.notify.body }}")
    assert found[1].startswith("{{ run.x }}")
    assert found[2].startswith("{{ secrets.nope }}")


def test_a_repeated_fault_in_one_text_is_reported_once() -> None:
    assert len(messages("{{ run.x }}{{ run.x }}")) == 1


def test_check_value_walks_a_json_tree_with_child_paths() -> None:
    body: dict[str, Any] = {
        "user": {"email": "{{ steps.notify.body.email }}"},
        "name-first": "{{ run.x }}",
        "items": [1, "{{ secrets.nope }}", {"ok": "{{ trigger.x }}"}],
        "{{ not.checked }}": True,
        "bad": "{{ x",
    }
    found = check_value(body, "steps[1].body", RULES)
    assert [problem.path for problem in found] == [
        "steps[1].body.user.email",
        'steps[1].body["name-first"]',
        "steps[1].body.items[1]",
        "steps[1].body.bad",
    ]
    assert found[3].message == 'unclosed "{{": add "}}" after the reference (column 1)'


def test_check_value_ignores_non_string_scalars() -> None:
    assert check_value([1, 2.5, None, True], "x", RULES) == []


@pytest.mark.parametrize(
    ("base", "key", "path"),
    [
        ("steps[0].body", "email", "steps[0].body.email"),
        ("steps[0].body", "name-first", 'steps[0].body["name-first"]'),
        ("steps[0].body", 'q"uote', 'steps[0].body["q\\"uote"]'),
        ("steps[0].body", "", 'steps[0].body[""]'),
        ("steps[0].headers", 2, "steps[0].headers[2]"),
        ("", "name", "name"),
        ("", 0, "[0]"),
        ("", "odd key", '["odd key"]'),
    ],
)
def test_json_path_spells_child_paths(base: str, key: str | int, path: str) -> None:
    assert json_path(base, key) == path


def test_referenced_secrets_finds_names_anywhere_in_a_tree() -> None:
    tree = [
        "https://x/{{ secrets.a }}",
        {"h": "Bearer {{ secrets.b }} and {{ trigger.x }}", "{{ secrets.key_ignored }}": 1},
        ("{{ secrets.c }}",),
        "{{ secrets.d | broken }}",
        "{{ secrets.e.too_deep }}",
        3,
        None,
    ]
    assert referenced_secrets(tree) == {"a", "b", "c", "e"}


def test_referenced_secrets_of_text_without_references_is_empty() -> None:
    assert referenced_secrets("no secrets }} here") == set()
