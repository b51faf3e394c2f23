"""The one JSON reader: depth, text, numbers and keys, each refusal with its path."""

from __future__ import annotations

import contextlib
import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callout.model.json_input import (
    MAX_JSON_DEPTH,
    MAX_JSON_INTEGER,
    MIN_JSON_INTEGER,
    JsonInputError,
    check_json_value,
    nesting_depth_bound,
    parse_json_value,
    servable_json_value,
)


def refusal(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> JsonInputError:
    with pytest.raises(JsonInputError) as caught:
        parse_json_value(data, max_depth=max_depth)
    return caught.value


def value_refusal(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> JsonInputError:
    with pytest.raises(JsonInputError) as caught:
        check_json_value(value, max_depth=max_depth)
    return caught.value


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


def test_the_limit_is_64_and_the_top_level_container_is_depth_1() -> None:
    assert MAX_JSON_DEPTH == 64
    assert parse_json_value("[" * 64 + "]" * 64) is not None
    assert parse_json_value("7") == 7
    error = refusal("[" * 65 + "]" * 65)
    assert error.message == "nested deeper than 64 levels of arrays and objects"
    assert error.path == "$" + "[0]" * 64


def test_the_path_of_a_too_deep_text_names_keys_and_indexes() -> None:
    text = '{"a": [1, {"b c": ' + "[" * 70 + "]" * 70 + "}]}"
    assert refusal(text, max_depth=5).path == '$.a[1]["b c"][0][0]'
    assert str(refusal(text, max_depth=5)).startswith('$.a[1]["b c"][0][0]: nested deeper')


def test_a_million_levels_are_refused_without_recursion() -> None:
    # Without the pre-scan, json.loads raises RecursionError here (or worse, builds it).
    assert refusal("[" * 1_000_000 + "]" * 1_000_000).message.startswith("nested deeper")
    assert refusal('{"a":' * 1_000_000 + "1" + "}" * 1_000_000).path.startswith("$.a.a.a")


def test_unclosed_brackets_are_refused_before_json_descends_into_them() -> None:
    assert refusal("[" * 1_000_000).message.startswith("nested deeper")
    assert refusal('{"a": ' * 1_000_000).message.startswith("nested deeper")
    assert "not valid JSON" in refusal("[" * 10).message


def test_brackets_inside_strings_do_not_count() -> None:
    tricky = ["[" * 500, '\\"' + "{" * 300, "\\\\", "]]]" + "\\" * 9, 'a"b']
    text = json.dumps([tricky, {"[[[": "{{{" * 100}])
    assert parse_json_value(text) == [tricky, {"[[[": "{{{" * 100}]


def test_an_escaped_backslash_before_a_quote_ends_the_string() -> None:
    text = '["\\\\", ' + "[" * 65 + "]" * 65 + "]"
    assert refusal(text).message.startswith("nested deeper")


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=60,
    )
)
def test_the_pre_scan_measures_the_depth_of_any_valid_text_exactly(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert nesting_depth_bound(text.encode("utf-8", "surrogatepass")) == depth_of(value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}"\\:,1 a', max_size=400))
def test_any_text_is_parsed_or_refused_with_a_json_input_error(text: str) -> None:
    with contextlib.suppress(JsonInputError):
        parse_json_value(text * 40, max_depth=3)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"name": "\\ud800"}', "$.name"),
        ('{"a": ["ok", "\\uDFFF tail"]}', "$.a[1]"),
        ('["\\ude00\\ud83d"]', "$[0]"),
        ('{"\\ud800": 1}', '$["\\ud800"]'),
        ('["\ud800"]', "$[0]"),
    ],
)
def test_lone_surrogates_are_refused_with_the_path(text: str, path: str) -> None:
    error = refusal(text)
    assert error.path == path
    assert "lone surrogate" in error.message
    # The message itself can be written as UTF-8.
    str(error).encode()


@pytest.mark.parametrize(
    ("text", "path"),
    [('{"a": "x\\u0000"}', "$.a"), ('[{"\\u0000": 1}]', '$[0]["\\u0000"]')],
)
def test_nul_is_refused_since_postgresql_cannot_hold_it(text: str, path: str) -> None:
    error = refusal(text)
    assert (error.path, error.message.removeprefix("key ")) == (
        path,
        "holds U+0000 (NUL), which callout cannot store",
    )
    assert value_refusal({"a": ["\x00"]}).path == "$.a[0]"
    assert parse_json_value('["\\\\u0000", "\\u1000"]') == ["\\u0000", "\u1000"]


def test_surrogate_pairs_and_escaped_backslashes_are_ordinary_text() -> None:
    assert parse_json_value('["\\ud83d\\ude00", "\\\\ud800"]') == ["\U0001f600", "\\ud800"]


def test_invalid_utf8_is_refused_with_the_offset() -> None:
    error = refusal(b'{"a": "\xff"}')
    assert error.path == ""
    assert error.message == "is not UTF-8 text (invalid byte at offset 7)"
    assert parse_json_value('{"é": "ü"}'.encode()) == {"é": "ü"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinities_are_refused(constant: str) -> None:
    error = refusal(f'{{"x": [1, {constant}]}}')
    assert error.path == "$.x[1]"
    assert "NaN and infinities are refused" in error.message


@pytest.mark.parametrize("number", ["1e400", "-1E+400", "1" + "0" * 400 + ".5"])
def test_numbers_that_overflow_to_infinity_are_refused(number: str) -> None:
    error = refusal(f'{{"n": {number}}}')
    assert error.path == "$.n"
    assert "too large for a 64-bit float" in error.message


def test_finite_extremes_are_numbers() -> None:
    assert parse_json_value("[1e308, 1e-400, -0.0]") == [1e308, 0.0, -0.0]


def test_integers_are_bounded_by_the_64_bit_ranges() -> None:
    edges = f"[{MIN_JSON_INTEGER}, {MAX_JSON_INTEGER}, 123456789012345678]"
    assert parse_json_value(edges) == [MIN_JSON_INTEGER, MAX_JSON_INTEGER, 123456789012345678]
    for number in (MAX_JSON_INTEGER + 1, MIN_JSON_INTEGER - 1):
        error = refusal(f'{{"id": {number}}}')
        assert (error.path, error.message) == (
            "$.id",
            f"integer out of range ({MIN_JSON_INTEGER} to {MAX_JSON_INTEGER})",
        )


def test_a_huge_integer_is_refused_without_being_converted() -> None:
    # int() of 5,000 digits raises Python's own ValueError (over 4,300 digits).
    error = refusal("[" + "9" * 5000 + "]")
    assert (error.path, error.message) == ("$[0]", "integer out of range (5000 digits)")


def test_duplicate_keys_are_refused_with_the_path() -> None:
    error = refusal('{"steps": [{"url": "a", "url": "b"}]}')
    assert (error.path, error.message) == ("$.steps[0].url", 'duplicate key "url"')


def test_invalid_json_says_where() -> None:
    error = refusal('{"a": 1,}')
    assert error.path == ""
    assert error.message.startswith("is not valid JSON: Expecting property name")
    assert "(line 1, column 9)" in error.message


def test_checking_a_built_value_holds_the_same_rules() -> None:
    check_json_value({"a": [1, 2.5, "x", None, True, (1, 2)]})
    assert value_refusal({"a": {"b": float("nan")}}).path == "$.a.b"
    assert value_refusal({"a": [2**64]}).path == "$.a[0]"
    assert value_refusal({"a": ["\udc00"]}).path == "$.a[0]"
    assert value_refusal({1: "x"}).message == "object keys must be strings, not int"
    assert value_refusal({"a": {1, 2}}).message == "is not a JSON value (a set)"


def test_checking_a_deep_built_value_stops_at_the_limit() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    error = value_refusal({"k": deep})
    assert error.path == "$.k" + "[0]" * 63
    check_json_value([[[]]], max_depth=3)
    assert value_refusal([[[[]]]], max_depth=3).path == "$[0][0][0]"


def test_odd_keys_are_shown_quoted_ascii_and_shortened() -> None:
    long_key = string.ascii_letters * 3
    error = value_refusal({long_key: {"é x": None, "n": float("inf")}})
    assert error.path == '$["' + long_key[:64] + '..."].n'


@pytest.mark.parametrize("max_depth", [0, 201])
def test_a_limit_outside_the_safe_range_is_a_programming_error(max_depth: int) -> None:
    with pytest.raises(ValueError, match="max_depth must be"):
        parse_json_value("[]", max_depth=max_depth)


def test_a_servable_value_is_the_value_itself_when_it_holds_the_rules() -> None:
    value = {"a": [1, "é", None]}
    assert servable_json_value(value) is value


def test_a_value_breaking_the_rules_is_served_as_a_copy_that_can_be_written() -> None:
    deep: list[Any] = []
    for _ in range(2000):
        deep = [deep]
    value = {"deep": deep, "text": "a\ud800b\x00", "nan": float("nan"), "big": 2**70, 7: {1, 2}}
    served = servable_json_value(value, max_depth=3)
    assert served == {
        "deep": [["[not shown: nested deeper than 3 levels]"]],
        "text": "a\ufffdb\ufffd",
        "nan": None,
        "big": str(2**70),
        "7": "{1, 2}",
    }
    json.dumps(served, ensure_ascii=False, allow_nan=False).encode()


def test_a_leading_byte_order_mark_is_dropped_and_utf16_is_refused() -> None:
    assert parse_json_value(b"\xef\xbb\xbf[1]") == [1]
    assert parse_json_value("\ufeff[1]") == [1]
    assert refusal(b"\xef\xbb\xbf[\xff]").message == "is not UTF-8 text (invalid byte at offset 4)"
    assert refusal('["x"]'.encode("utf-16")).message.startswith("is not UTF-8 text")
