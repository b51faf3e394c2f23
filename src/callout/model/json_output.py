"""Write a JSON value as compact UTF-8 bytes, fast: to measure it or hand it on.

orjson writes what `json.dumps(value, separators=(",", ":"), ensure_ascii=False)`
writes, byte for byte, but for a float's exponent (`1e-7`, not `1e-07`), at
about twenty times the speed. What it refuses (a lone surrogate, an integer past
64 bits, a key that is not a string, nesting past 254 levels) is written by the
standard library, a lone surrogate as its three bytes.

Not for a text that is compared with one written earlier (a trigger's fingerprint
is the standard library's, sorted, as it always was).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def compact_json(value: Any) -> bytes:
    """Return `value` as compact JSON in UTF-8."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")
