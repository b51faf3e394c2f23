"""`compact_json` and `sorted_json`: the standard library's JSON, fast (but one float spelling)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from callout.model.json_output import compact_json, sorted_json


def standard(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize(
    "value",
    [
        {"order": {"id": "o-1", "items": [{"sku": "é", "n": 2}], "paid": True, "note": None}},
        ["line\nbreak", "tab\t", 'quote " and \\ slash', "\u2028", "😀", "\x7f"],
        [2**64 - 1, -(2**63), 0, -0.0, 0.1, 1.5, 1e16, 1e308, 5e-324],
        {"": {"nested": [[[]]], "empty": {}}},
        "a lone string",
    ],
)
def test_the_same_bytes_as_the_standard_librarys_compact_json(value: Any) -> None:
    assert compact_json(value) == standard(value)


def test_a_small_exponent_is_written_without_its_leading_zero() -> None:
    assert compact_json([1e-7]) == b"[1e-7]"
    assert standard([1e-7]) == b"[1e-07]"
    assert json.loads(compact_json([1e-7])) == [1e-7]


@pytest.mark.parametrize(
    "value",
    [
        {"lone": "\ud800"},  # a lone surrogate: its three bytes, not an error
        [2**64],  # past 64 bits
        {1: "a key that is not a string"},
        json.loads("[" * 300 + "]" * 300),  # deeper than orjson writes
    ],
)
def test_what_orjson_refuses_is_written_by_the_standard_library(value: Any) -> None:
    assert compact_json(value) == standard(value)


def standard_sorted(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "value",
    [
        ("event", "order.paid", {"b": 1, "a": [1e-7, 2.5], "é": None, "😀": True, "A": {}}),
        ["e-mail", {"z": "x", "": 0}],
        {"control": "".join(chr(code) for code in range(32)), "more": '\x7f\u2028/\\"'},
        [1e-5, 1.5e-300, 1e22, -0.0, 0.1 + 0.2, 2**64 - 1, -(2**63)],
        [2**64],
        {"deep": json.loads("[" * 300 + "]" * 300)},
    ],
)
def test_sorted_json_is_the_standard_librarys_byte_for_byte(value: Any) -> None:
    # A trigger call's fingerprint: a replay compares it with one stored before.
    assert sorted_json(value) == standard_sorted(value)
