"""Paths into a body (or the trigger) that the schema provably excludes are validation problems."""

from __future__ import annotations

from typing import Any

import pytest

from callout.templates import ReferenceRules, check_text, excluded_path

USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"name": {}}}},
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "items": False,
        },
        "free": {"type": "object"},
        "limited": {"type": "array", "maxItems": 2},
        "never": False,
        "extra_typed": {"type": "object", "additionalProperties": {"type": "integer"}},
        "maybe": {
            "type": ["object", "null"],
            "properties": {"x": {}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


def rules_with(schema: Any = USER_SCHEMA, trigger_schema: Any = None) -> ReferenceRules:
    return ReferenceRules(
        step_ids=("create_user", "tag_user"),
        current_step="tag_user",
        response_schemas={"create_user": schema},
        trigger_schema=trigger_schema,
    )


def messages(text: str, rules: ReferenceRules | None = None) -> list[str]:
    return [p.message for p in check_text(text, "steps[1].url", rules or rules_with())]


@pytest.mark.parametrize(
    "reference",
    [
        "steps.create_user.body",
        "steps.create_user.body.id",
        "steps.create_user.body.tags[5].name",
        "steps.create_user.body.tags[0].anything",
        "steps.create_user.body.pair[1]",
        "steps.create_user.body.free.anything.deep[3]",
        "steps.create_user.body.limited[1]",
        "steps.create_user.body.extra_typed.any_key",
        "steps.create_user.body.maybe.x",
        "steps.create_user.status",
        "steps.create_user.error.body.whatever",
    ],
)
def test_paths_the_schema_allows_pass(reference: str) -> None:
    assert messages(f"{{{{ {reference} }}}}") == []


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        (
            "steps.create_user.body.email",
            (
                'steps.create_user.body has no key "email" in the response schema of create_user '
                "(it allows: id, tags, pair, free, limited, never, extra_typed, maybe)"
            ),
        ),
        (
            "steps.create_user.body.id.first",
            (
                "steps.create_user.body.id is a string in the response schema of create_user, "
                'so it has no key "first"'
            ),
        ),
        (
            "steps.create_user.body.id[0]",
            (
                "steps.create_user.body.id is a string in the response schema of create_user, "
                "not a list"
            ),
        ),
        (
            "steps.create_user.body[0]",
            "steps.create_user.body is an object in the response schema of create_user, not a list",
        ),
        (
            "steps.create_user.body.tags.name",
            (
                "steps.create_user.body.tags is a list in the response schema of create_user, "
                'so it has no key "name"'
            ),
        ),
        (
            "steps.create_user.body.tags[0][1]",
            (
                "steps.create_user.body.tags[0] is an object in the response schema of "
                "create_user, not a list"
            ),
        ),
        (
            "steps.create_user.body.pair[2]",
            (
                "steps.create_user.body.pair has at most 2 items in the response schema of "
                "create_user, so [2] cannot exist"
            ),
        ),
        (
            "steps.create_user.body.pair[1].x",
            (
                "steps.create_user.body.pair[1] is an integer in the response schema of "
                'create_user, so it has no key "x"'
            ),
        ),
        (
            "steps.create_user.body.limited[2]",
            (
                "steps.create_user.body.limited has at most 2 items in the response schema of "
                "create_user, so [2] cannot exist"
            ),
        ),
        (
            "steps.create_user.body.never",
            (
                "steps.create_user.body.never cannot have a value: the response schema of "
                "create_user allows none there"
            ),
        ),
        (
            "steps.create_user.body.never.x",
            (
                "steps.create_user.body.never cannot have a value: the response schema of "
                "create_user allows none there"
            ),
        ),
        (
            "steps.create_user.body.extra_typed.k.x",
            (
                "steps.create_user.body.extra_typed.k is an integer in the response schema of "
                'create_user, so it has no key "x"'
            ),
        ),
        (
            "steps.create_user.body.maybe.y",
            (
                'steps.create_user.body.maybe has no key "y" in the response schema of create_user '
                "(it allows: x)"
            ),
        ),
    ],
)
def test_paths_the_schema_excludes_are_problems(reference: str, why: str) -> None:
    assert messages(f"{{{{ {reference} }}}}") == [f"{{{{ {reference} }}}}: {why}"]


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/user", "additionalProperties": False},
        {"allOf": [{"properties": {"email": {}}}], "additionalProperties": False},
        {"anyOf": [{"type": "string"}], "type": "string"},
        {"oneOf": [{}], "additionalProperties": False},
        {"if": {}, "then": {}, "additionalProperties": False},
        {"not": {"type": "object"}, "type": "string"},
        {"patternProperties": {"^e": {}}, "additionalProperties": False},
        {"type": "object", "additionalProperties": True},
        {"type": "object"},
        {"type": "objekt"},
        {"type": 3},
        {"type": "object", "properties": "not an object"},
        {"prefixItems": "not a list", "items": "not a schema"},
        True,
        {},
        "garbage",
        [1, 2],
        None,
    ],
)
def test_the_walk_stops_and_accepts_where_it_cannot_decide(schema: Any) -> None:
    assert messages("{{ steps.create_user.body.email.x[0] }}", rules_with(schema)) == []


def test_a_false_response_schema_excludes_every_body_path() -> None:
    assert messages("{{ steps.create_user.body.x }}", rules_with(schema=False)) == [
        (
            "{{ steps.create_user.body.x }}: steps.create_user.body cannot have a value: "
            "the response schema of create_user allows none there"
        )
    ]


def test_a_step_without_a_response_schema_accepts_any_body_path() -> None:
    rules = ReferenceRules(step_ids=("a", "b"), current_step="b", response_schemas={})
    assert messages("{{ steps.a.body.anything[0].deep }}", rules) == []


def test_items_false_without_prefix_items_allows_no_index() -> None:
    schema = {"type": "object", "properties": {"empty": {"type": "array", "items": False}}}
    assert messages("{{ steps.create_user.body.empty[0] }}", rules_with(schema)) == [
        (
            "{{ steps.create_user.body.empty[0] }}: steps.create_user.body.empty has no items in "
            "the response schema of create_user, so [0] cannot exist"
        )
    ]


def test_trigger_paths_are_checked_against_the_trigger_schema() -> None:
    trigger_schema = {
        "type": "object",
        "properties": {
            "data": {
                "type": "object",
                "properties": {"attributes": {"type": "object", "additionalProperties": False}},
            }
        },
    }
    rules = rules_with(trigger_schema=trigger_schema)
    assert messages("{{ trigger.data.attributes.email }}", rules) == [
        (
            '{{ trigger.data.attributes.email }}: trigger.data.attributes has no key "email" in '
            "the trigger schema (it allows no keys)"
        )
    ]
    assert messages("{{ trigger.data.other.x }}", rules) == []
    assert messages("{{ trigger[0] }}", rules) == [
        "{{ trigger[0] }}: trigger is an object in the trigger schema, not a list"
    ]


def test_without_a_trigger_schema_any_trigger_path_passes() -> None:
    assert messages("{{ trigger.a[0].b }}", rules_with(trigger_schema=None)) == []


def test_all_schema_problems_of_a_body_are_collected() -> None:
    rules = rules_with()
    text = (
        "{{ steps.create_user.body.a }}/{{ steps.create_user.body.id }}"
        "/{{ steps.create_user.body.b }}"
    )
    assert len(messages(text, rules)) == 2


def test_a_type_list_names_every_allowed_type() -> None:
    schema = {"type": ["string", "null"]}
    assert excluded_path(schema, "trigger", ["x"], "the trigger schema") == (
        'trigger is a string or null in the trigger schema, so it has no key "x"'
    )


def test_a_boolean_max_items_is_not_read_as_a_number() -> None:
    assert excluded_path({"maxItems": True}, "trigger", [1], "the trigger schema") is None


def test_old_style_tuple_items_are_not_decided() -> None:
    assert excluded_path({"items": [{"type": "string"}]}, "trigger", [0, "x"], "s") is None


def test_unreadable_item_keywords_accept_any_index() -> None:
    schema = {"type": "array", "prefixItems": "not a list", "items": "not a schema"}
    assert excluded_path(schema, "trigger", [3, "x"], "the trigger schema") is None
