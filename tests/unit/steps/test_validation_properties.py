"""Random documents never crash the validator: only our DocumentError comes out."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callout.model.errors import DocumentError
from callout.model.loading import parse_document
from callout.steps.validation import validate_workflow
from support.documents import VALID

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
template_texts = st.builds(
    lambda a, ref, b: f"{a}{{{{ {ref} }}}}{b}",
    st.text(max_size=5),
    st.sampled_from(
        [
            "trigger.a",
            "steps.create_user.body.id",
            "steps.nope.x",
            "secrets.s",
            "run.id",
            "run.x",
            "x y",
            "",
            "}}",
        ]
    ),
    st.text(max_size=5),
)
json_values = st.recursive(
    json_scalars | template_texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "url",
    "method",
    "body",
    "headers",
    "response_schema",
    "secret",
    "signature_header",
    "retry_intervals",
    "timeout",
    "continue_on_error",
    "id",
    "action",
    "extra",
]


def validate(doc: Any) -> None:
    try:
        validate_workflow(doc)
    except DocumentError as exc:
        problems = exc.problems
    else:
        return
    assert problems
    assert all(isinstance(p.message, str) and p.message for p in problems)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_is_a_document_error_or_valid(doc: Any) -> None:
    validate(doc)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 1), st.sampled_from(FIELDS), json_values)
def test_any_field_replaced_by_anything_is_a_document_error_or_valid(
    index: int, field: str, value: Any
) -> None:
    doc = copy.deepcopy(VALID)
    doc["steps"][index][field] = value
    validate(doc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_gives_a_document_error(text: str) -> None:
    try:
        parse_document(text)
    except DocumentError as exc:
        problems = exc.problems
    else:
        return
    assert problems
