r"""Read JSON from anyone (API clients, documents, servers, stored records) within fixed bounds.

Every JSON text callout reads from outside goes through `parse_json_value`; a value
built some other way (YAML, a stored record) goes through `check_json_value`. Both
hold the same rules, and every refusal is a `JsonInputError` saying where it is
(`$.steps[0].body`):

- nesting: arrays and objects nest at most `MAX_JSON_DEPTH` (64) deep. The top-level
  array or object is depth 1 (`[]` is 1, `[[]]` is 2, a lone scalar is 0); scalars
  inside a container add nothing. A text is measured by a linear pre-scan of C-speed
  passes before `json` builds anything, so a text nested 1,000,000 deep costs neither
  recursion nor memory;
- text: bytes must be UTF-8, and no string or key may hold a lone surrogate
  (`"\ud800"` with no low half), which cannot be written back as UTF-8, nor U+0000
  (`"\u0000"`), which PostgreSQL can neither store in text nor read in a json value;
- numbers: NaN and infinities are refused, and so is a number that only reads as
  infinity (`1e400`); integers must lie in `MIN_JSON_INTEGER`..`MAX_JSON_INTEGER` (the
  signed and unsigned 64-bit ranges together, so 64-bit ids from any server fit), and
  a 4,000-digit integer is refused without being converted;
- objects: a key given twice is refused (JSON leaves open which one wins), and a key
  must be a string.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 64
"""How deep arrays and objects may nest; the top-level array or object is depth 1."""

MAX_JSON_INTEGER = 2**64 - 1
"""The largest integer accepted (the unsigned 64-bit maximum)."""

MIN_JSON_INTEGER = -(2**63)
"""The smallest integer accepted (the signed 64-bit minimum)."""

_MAX_INTEGER_DIGITS = len(str(MAX_JSON_INTEGER))
# The checks recurse once per level (two frames): a caller's limit stays well inside
# Python's recursion limit, even when called deep in a stack.
_HIGHEST_MAX_DEPTH = 200
_MAX_KEY_IN_PATH = 64

# The pre-scan works on bytes with C-speed passes only (no Python loop per character):
# `"` and `\` never occur inside a multi-byte UTF-8 sequence, so bytes are exact here.
_NOT_KEPT = bytes(b for b in range(256) if b not in b'"[]{}')
_CURLY_TO_SQUARE = bytes.maketrans(b"{}", b"[]")
# Runs of brackets become one signed step each, so `accumulate` has fewer items to add.
_RUNS = ((b"[" * 16, b"\x10"), (b"]" * 16, b"\xf0"), (b"[" * 4, b"\x04"), (b"]" * 4, b"\xfc"))
_STEPS = bytes.maketrans(b"[]", b"\x01\xff")
# Hints that the slower, exact checks are needed, each found by a substring search in
# a copy of the text with every digit made 0 and every hex letter lower case.
_HINTS = bytes.maketrans(b"123456789ABCDEF", b"000000000abcdef")
_LONG_DIGITS = b"0" * len(str(-MIN_JSON_INTEGER))
_BIG_EXPONENTS = (b"e000", b"e+000", b"e-000")
_SURROGATE_ESCAPE = b"\\ud"
_NUL_ESCAPE = b"\\u0000"
_SURROGATE_CHAR = re.compile("[\ud800-\udfff]")
# Tokens for finding where a too-deep text goes too deep: a string (a key when a colon
# follows), a bracket or a comma.
_TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"(\s*+:)?|[\[\]{},]', re.DOTALL)
_DEPTH_PATH_SCAN_CHARS = 4 * 1024 * 1024
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class JsonInputError(ValueError):
    """A JSON text or value breaks a rule; `path` says where (`$.a[3].b`, or "" if unknown)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def path_segment(part: str | int) -> str:
    """Return one step of a path: `[3]`, `.name`, or `["odd key"]` (ASCII, shortened)."""
    if isinstance(part, int):
        return f"[{part}]"
    if len(part) <= _MAX_KEY_IN_PATH and _PLAIN_KEY.fullmatch(part):
        return f".{part}"
    shown = part if len(part) <= _MAX_KEY_IN_PATH else part[:_MAX_KEY_IN_PATH] + "..."
    return f"[{json.dumps(shown)}]"


def _path(parts: list[str | int]) -> str:
    return "$" + "".join(path_segment(part) for part in parts)


def _too_deep(max_depth: int) -> str:
    return f"nested deeper than {max_depth} levels of arrays and objects"


def _brackets_outside_strings(raw: bytes) -> bytes:
    """Return the text's brackets that are outside strings, `{}` written as `[]`."""
    # Escaped backslashes go first, then escaped quotes: what is left of each string is
    # its two quotes around bracket-only text, and the pieces between are outside.
    kept = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = kept.translate(_CURLY_TO_SQUARE, _NOT_KEPT)
    return b"".join(kept.split(b'"')[::2])


def nesting_depth_bound(raw: bytes) -> int:
    """Return how deep arrays and objects nest in the JSON text `raw` (UTF-8).

    Exact for a valid text. For an invalid one it is at least the depth `json`
    reaches before it finds the fault (unclosed brackets count), so `json` never
    recurses further than this. Linear, in C-speed passes: each round of removing the
    innermost `[]` pairs takes one level off every peak, and the largest prefix sum of
    what is left (runs of brackets summed first) gives the rest.
    """
    brackets = _brackets_outside_strings(raw)
    rounds = 0
    while brackets:
        shorter = brackets.replace(b"[]", b"")
        # Once a round no longer halves the text, summing is the cheaper way on.
        if len(shorter) * 2 > len(brackets):
            break
        brackets = shorter
        rounds += 1
    if not brackets:
        return rounds
    for run, step in _RUNS:
        brackets = brackets.replace(run, step)
    return rounds + max(accumulate(array("b", brackets.translate(_STEPS)), initial=0))


def _deep_text_path(text: str, max_depth: int) -> str:
    """Return the path of the first array or object nested past `max_depth`, or "".

    A Python loop per token, so it only runs on a text already known to be too deep,
    and only over its first few MiB, to point the user at the place.
    """
    parts: list[str | int] = []
    open_kinds: list[str] = []
    for token in _TOKEN.finditer(text, 0, _DEPTH_PATH_SCAN_CHARS):
        char = token.group()[0]
        if char == '"':
            if token.group(1) and open_kinds and open_kinds[-1] == "{":
                try:
                    parts[-1] = json.loads(token.group()[: -len(token.group(1))])
                except ValueError:
                    return ""
        elif char in "[{":
            if len(open_kinds) >= max_depth:
                return _path(parts)
            open_kinds.append(char)
            parts.append(0 if char == "[" else "")
        elif char in "]}":
            if open_kinds:
                open_kinds.pop()
                parts.pop()
        elif open_kinds and open_kinds[-1] == "[":
            index = parts[-1]
            parts[-1] = index + 1 if isinstance(index, int) else 0
    return ""


class _Refused:
    """Stands for a number or object the parser refused, until the walk finds its path."""

    __slots__ = ("key", "message")

    def __init__(self, message: str, key: str | None = None) -> None:
        self.message = message
        self.key = key


class _Found(Exception):
    """Carries a problem up the walk; each level adds its own step of the path."""

    def __init__(self, message: str, parts: list[str | int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parts = parts if parts is not None else []


def _text_problem(text: str) -> str | None:
    """Return why a string or key is not accepted, or None when it is."""
    if "\x00" in text:
        # PostgreSQL can neither store U+0000 in text nor read it in a json value.
        return "holds U+0000 (NUL), which callout cannot store"
    found = None if text.isascii() else _SURROGATE_CHAR.search(text)
    if found is None:
        return None
    return f"holds a lone surrogate (\\u{ord(found.group()):04x}); text must be valid Unicode"


def _scalar_problem(value: Any) -> str | None:
    """Return why a scalar is not accepted, or None when it is."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, int):
        if MIN_JSON_INTEGER <= value <= MAX_JSON_INTEGER:
            return None
        return f"integer out of range ({MIN_JSON_INTEGER} to {MAX_JSON_INTEGER})"
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return "is not a JSON number (NaN and infinities are refused)"
    if isinstance(value, _Refused):
        return value.message
    return f"is not a JSON value (a {type(value).__name__})"


def _check_item(item: Any, levels_left: int, max_depth: int) -> None:
    """Check one value; the common kinds are tested first, by exact type, for speed."""
    kind = type(item)
    if kind is str:
        if "\x00" not in item and (item.isascii() or not _SURROGATE_CHAR.search(item)):
            return
    elif kind is int:
        if MIN_JSON_INTEGER <= item <= MAX_JSON_INTEGER:
            return
    elif kind is dict or kind is list or isinstance(item, dict | list | tuple):
        _check_container(item, levels_left, max_depth)
        return
    problem = _scalar_problem(item)
    if problem is not None:
        key = item.key if isinstance(item, _Refused) else None
        raise _Found(problem, [] if key is None else [key])


def _check_container(value: Any, levels_left: int, max_depth: int) -> None:
    """Check an array or object and all it holds; recursion stops at the depth limit."""
    if levels_left == 0:
        raise _Found(_too_deep(max_depth))
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Found(f"object keys must be strings, not {type(key).__name__}")
            if "\x00" in key or (not key.isascii() and _SURROGATE_CHAR.search(key)):
                raise _Found(f"key {_text_problem(key)}", [key])
            try:
                _check_item(item, levels_left - 1, max_depth)
            except _Found as found:
                found.parts.append(key)
                raise
    else:
        for index, item in enumerate(value):
            try:
                _check_item(item, levels_left - 1, max_depth)
            except _Found as found:
                found.parts.append(index)
                raise


def _checked_depth(max_depth: int) -> int:
    if not 0 < max_depth <= _HIGHEST_MAX_DEPTH:
        msg = f"max_depth must be 1 to {_HIGHEST_MAX_DEPTH}, not {max_depth}"
        raise ValueError(msg)
    return max_depth


def check_json_value(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise JsonInputError, with the path, when `value` breaks a rule of this module.

    For values built some other way (YAML, a stored record): only dict (string keys),
    list, tuple, str, int, float, bool and None, nested at most `max_depth` deep, with
    no lone surrogate, no NaN or infinity, and integers within the bounds.
    """
    try:
        _check_item(value, _checked_depth(max_depth), max_depth)
    except _Found as found:
        raise JsonInputError(_path(found.parts[::-1]), found.message) from None


def _decode(data: str | bytes | bytearray | memoryview) -> tuple[str, bytes]:
    """Return the text and its UTF-8 bytes; a leading byte order mark is dropped.

    RFC 8259 lets a parser ignore a BOM; UTF-16 and UTF-32 texts are refused.
    """
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
        return text, text.encode("utf-8", "surrogatepass")
    whole = bytes(data)
    raw = whole.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        offset = exc.start + len(whole) - len(raw)
        raise JsonInputError("", f"is not UTF-8 text (invalid byte at offset {offset})") from None


class _Reader:
    """The hooks `json.loads` calls; what they refuse waits in the value for its path."""

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused: list[_Refused] = []

    def _refuse(self, message: str, key: str | None = None) -> _Refused:
        self.refused.append(_Refused(message, key))
        return self.refused[-1]

    def constant(self, name: str) -> _Refused:
        """Refuse NaN, Infinity and -Infinity."""
        return self._refuse(f"{name} is not a JSON number (NaN and infinities are refused)")

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Refused:
        """Build an object, refusing a key given twice."""
        result = dict(pairs)
        if len(result) < len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    return self._refuse(f"duplicate key {json.dumps(key[:_MAX_KEY_IN_PATH])}", key)
                seen.add(key)
        return result

    def integer(self, digits: str) -> int | _Refused:
        """Convert an integer unless it has more digits than any accepted one."""
        if len(digits.lstrip("-")) <= _MAX_INTEGER_DIGITS:
            return int(digits)
        return self._refuse(f"integer out of range ({len(digits.lstrip('-'))} digits)")

    def number(self, digits: str) -> float | _Refused:
        """Convert a number unless it reads as infinity."""
        value = float(digits)
        if math.isfinite(value):
            return value
        return self._refuse(f"number {digits[:32]} is too large for a 64-bit float")


def parse_json_value(
    data: str | bytes | bytearray | memoryview, *, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """Parse one JSON text, holding every rule of this module; raise JsonInputError if not.

    The nesting depth is measured before `json` builds anything. Duplicate keys and
    NaN are caught while parsing; the other rules by walking the built value, which
    is done only when a cheap scan of the text shows that one of them may be broken.
    """
    _checked_depth(max_depth)
    text, raw = _decode(data)
    if nesting_depth_bound(raw) > max_depth:
        raise JsonInputError(_deep_text_path(text, max_depth), _too_deep(max_depth))
    hints = raw.translate(_HINTS)
    long_digits = _LONG_DIGITS in hints
    reader = _Reader()
    hooks: dict[str, Any] = {}
    if long_digits:
        hooks["parse_int"] = reader.integer
    if long_digits or any(exponent in hints for exponent in _BIG_EXPONENTS):
        hooks["parse_float"] = reader.number
    try:
        value = json.loads(
            text, object_pairs_hook=reader.object, parse_constant=reader.constant, **hooks
        )
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            "", f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    may_hold_bad_text = (
        _SURROGATE_ESCAPE in hints
        or _NUL_ESCAPE in raw
        or (not text.isascii() and _SURROGATE_CHAR.search(text) is not None)
    )
    if reader.refused or long_digits or may_hold_bad_text:
        check_json_value(value, max_depth=max_depth)
    return value


NOT_SHOWN = "[not shown: nested deeper than {max_depth} levels]"
"""What `servable_json_value` puts in place of an array or object nested too deep."""


def _servable_text(text: str) -> str:
    text = text.replace("\x00", "\ufffd")
    return text if text.isascii() else _SURROGATE_CHAR.sub("\ufffd", text)


def _servable(value: Any, levels_left: int, max_depth: int) -> Any:
    if isinstance(value, dict | list | tuple):
        if levels_left == 0:
            return NOT_SHOWN.format(max_depth=max_depth)
        if isinstance(value, dict):
            return {
                _servable_text(key if isinstance(key, str) else str(key)): _servable(
                    item, levels_left - 1, max_depth
                )
                for key, item in value.items()
            }
        return [_servable(item, levels_left - 1, max_depth) for item in value]
    if isinstance(value, str):
        return _servable_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if MIN_JSON_INTEGER <= value <= MAX_JSON_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def servable_json_value(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Return `value` itself when it can be written out as JSON within the depth, else a copy.

    For values read back from a store that may predate the rules (older rows): the
    copy shows an array or object nested past `max_depth` as `NOT_SHOWN`, a lone
    surrogate as U+FFFD, NaN and infinities as null, an integer out of range as its
    text, and any other non-JSON value as its text, so answering with it never fails.
    The test is C-speed passes (write, encode, measure the depth); only a value that
    fails it is walked in Python.
    """
    _checked_depth(max_depth)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, TypeError, RecursionError):  # UnicodeEncodeError is a ValueError
        return _servable(value, max_depth, max_depth)
    if nesting_depth_bound(text) > max_depth:
        return _servable(value, max_depth, max_depth)
    return value
