r"""One `{{ }}` reference: a root name and a plain path of keys and indexes.

The grammar, in full (no spaces inside; nothing else is code):

```
reference := name ( "." name | "[" index "]" | "[" quoted "]" )*
name      := [A-Za-z_][A-Za-z0-9_]*
index     := [0-9]{1,9}
quoted    := "..." | '...'     (JSON escapes: \" \' \\ \/ \b \f \n \r \t \uXXXX)
```

Parsing only reads the shape; which roots and paths mean something is decided
by `lookup` (at run time) and `check` (when a document is validated).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from callout.templates._syntax import TemplateSyntaxError

MAX_INDEX_DIGITS = 9
"""An index has at most this many digits (a list that long would not fit a payload anyway)."""

PLAIN_PATH_HINT = "a reference is a plain path such as trigger.data.id"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")
_SPACE = " \t\r\n"
_OPERATORS = "+-*/%<>=!&^~?:,;@$#"
_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed reference: `steps.create_user.body.items[0]` has root `steps`.

    `path` holds what follows the root (`("create_user", "body", "items", 0)`) and
    `text` the canonical spelling: dotted names where they are plain names,
    `["..."]` (JSON string syntax) for other keys, `[n]` for indexes.
    """

    root: str
    path: tuple[str | int, ...]
    text: str

    @classmethod
    def of(cls, root: str, path: Iterable[str | int] = ()) -> Reference:
        """Build a reference from its parts, with its canonical text."""
        parts = tuple(path)
        return cls(root=root, path=parts, text=format_path(root, parts))


def is_name(key: str) -> bool:
    """Tell whether `key` can be written after a dot (`[A-Za-z_][A-Za-z0-9_]*`)."""
    return _NAME.fullmatch(key) is not None


def format_key(key: str | int) -> str:
    """Spell one path step as it follows its parent: `.name`, `["odd-key"]` or `[0]`."""
    if isinstance(key, int):
        return f"[{key}]"
    if is_name(key):
        return f".{key}"
    return f"[{json.dumps(key, ensure_ascii=False)}]"


def quote_key(key: str | int) -> str:
    """Show a key or index in a message: `"email"`, `3`."""
    return str(key) if isinstance(key, int) else json.dumps(key, ensure_ascii=False)


def format_path(root: str, path: Iterable[str | int]) -> str:
    """Spell a root and a path canonically: `trigger.data["name-first"][0]`."""
    return root + "".join(format_key(key) for key in path)


def _show(char: str) -> str:
    """Quote a character for a message, escaping what would not print."""
    if char.isprintable() and char != '"':
        return f'"{char}"'
    return json.dumps(char)


def skip_space(source: str, pos: int) -> int:
    """Return the first index at or after `pos` that is not a space, tab or line break."""
    while pos < len(source) and source[pos] in _SPACE:
        pos += 1
    return pos


def _read_dotted(source: str, dot: int, path: list[str | int]) -> int:
    match = _NAME.match(source, dot + 1)
    if match is not None:
        path.append(match.group())
        return match.end()
    after = dot + 1
    if after >= len(source) or source[after] in _SPACE or source[after] == "}":
        raise TemplateSyntaxError('a name must follow "."', after + 1)
    digits = _DIGITS.match(source, after)
    if digits is not None:
        number = digits.group()
        raise TemplateSyntaxError(
            f'write [{number}] for an item of a list (or ["{number}"] for a key), not .{number}',
            after + 1,
        )
    raise TemplateSyntaxError(
        f'{_show(source[after])} cannot start a name after "."; '
        f'write ["..."] for a key with other characters, e.g. data["name-first"]',
        after + 1,
    )


def _read_hex4(source: str, at: int) -> int | None:
    digits = source[at : at + 4]
    if len(digits) == 4 and all(char in string.hexdigits for char in digits):
        return int(digits, 16)
    return None


def _read_escape(source: str, backslash: int) -> tuple[str, int]:
    """Read the escape at `backslash`; return the character and the index after it."""
    code = source[backslash + 1] if backslash + 1 < len(source) else ""
    if code in _ESCAPES:
        return _ESCAPES[code], backslash + 2
    if code != "u":
        shown = _show("\\" + code) if code else '"\\"'
        raise TemplateSyntaxError(
            f"unknown escape {shown} in a quoted key (write \\\\ for a backslash)",
            backslash + 1,
        )
    high = _read_hex4(source, backslash + 2)
    if high is None:
        raise TemplateSyntaxError('"\\u" must be followed by four hex digits', backslash + 1)
    end = backslash + 6
    if 0xD800 <= high < 0xDC00 and source.startswith("\\u", end):
        low = _read_hex4(source, end + 2)
        if low is not None and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), end + 6
    return chr(high), end


def _read_quoted(source: str, opening: int) -> tuple[str, int]:
    """Read a quoted key at `opening`; return it and the index after its closing quote."""
    quote = source[opening]
    chars: list[str] = []
    pos = opening + 1
    while True:
        if pos >= len(source):
            raise TemplateSyntaxError(
                f"unclosed string: {quote} has no closing {quote}", opening + 1
            )
        char = source[pos]
        if char == quote:
            return "".join(chars), pos + 1
        if char == "\\":
            decoded, pos = _read_escape(source, pos)
            chars.append(decoded)
        else:
            chars.append(char)
            pos += 1


def _read_bracket(source: str, bracket: int, path: list[str | int]) -> int:
    at = bracket + 1
    char = source[at] if at < len(source) else ""
    digits = _DIGITS.match(source, at)
    if digits is not None:
        if len(digits.group()) > MAX_INDEX_DIGITS:
            raise TemplateSyntaxError(f"an index has at most {MAX_INDEX_DIGITS} digits", at + 1)
        path.append(int(digits.group()))
        end = digits.end()
    elif char in {'"', "'"}:
        key, end = _read_quoted(source, at)
        path.append(key)
    elif char == "":
        raise TemplateSyntaxError('unclosed "[": expected "]"', bracket + 1)
    elif char == "-" and source[at + 1 : at + 2].isdigit():
        raise TemplateSyntaxError(
            "indexes count from 0; negative indexes are not supported", at + 1
        )
    elif char in _SPACE:
        raise TemplateSyntaxError("spaces are not allowed inside a reference", at + 1)
    else:
        raise TemplateSyntaxError(
            'expected an index such as [0] or a quoted key such as ["name-first"] '
            f'after "[", not {_show(char)}',
            at + 1,
        )
    if end >= len(source):
        raise TemplateSyntaxError('unclosed "[": expected "]"', bracket + 1)
    if source[end] != "]":
        if source[end] in _SPACE:
            raise TemplateSyntaxError("spaces are not allowed inside a reference", end + 1)
        raise TemplateSyntaxError(
            f'expected "]" to close the "[" at column {bracket + 1}, not {_show(source[end])}',
            end + 1,
        )
    return end + 1


def scan_reference(source: str, start: int) -> tuple[Reference, int]:
    """Read the path of one reference at `start`; return it and the index just after it.

    Reading stops at the first character that cannot continue a path; the
    caller decides whether what follows is allowed (see `explain_after_path`).
    """
    match = _NAME.match(source, start)
    if match is None:
        expected = "a reference starts with a name such as trigger, steps, secrets or run"
        if start >= len(source):
            raise TemplateSyntaxError(f"{expected}, but the text ends here", start + 1)
        raise TemplateSyntaxError(f"{expected}, not {_show(source[start])}", start + 1)
    root = match.group()
    path: list[str | int] = []
    pos = match.end()
    while pos < len(source):
        if source[pos] == ".":
            pos = _read_dotted(source, pos, path)
        elif source[pos] == "[":
            pos = _read_bracket(source, pos, path)
        else:
            break
    return Reference(root=root, path=tuple(path), text=format_path(root, path)), pos


def explain_after_path(source: str, path_end: int, pos: int) -> TemplateSyntaxError:
    """Say why `source[pos]` (reached after a path that ended at `path_end`) is not allowed."""
    char = source[pos]
    column = pos + 1
    if char == "-" and pos == path_end:
        return TemplateSyntaxError(
            '"-" cannot be part of a dotted name; write ["..."] for such keys, '
            'e.g. data["name-first"]',
            column,
        )
    if char == "|":
        return TemplateSyntaxError(f'filters ("|") are not supported: {PLAIN_PATH_HINT}', column)
    if char == "(":
        return TemplateSyntaxError(f'calls ("(") are not supported: {PLAIN_PATH_HINT}', column)
    if char in _OPERATORS:
        return TemplateSyntaxError(
            f"operators ({_show(char)}) are not supported: {PLAIN_PATH_HINT}", column
        )
    if char == "{":
        return TemplateSyntaxError('unexpected "{": references cannot be nested', column)
    if char == "}":
        return TemplateSyntaxError('expected "}}" to close the reference', column)
    if pos > path_end:
        return TemplateSyntaxError("spaces are not allowed inside a reference", path_end + 1)
    return TemplateSyntaxError(f"unexpected {_show(char)}: {PLAIN_PATH_HINT}", column)


def parse_reference(expression: str) -> Reference:
    """Parse a bare reference such as `trigger.data["name-first"]` (spaces around allowed).

    Raises TemplateSyntaxError, whose column counts from 1 in `expression`.
    """
    start = skip_space(expression, 0)
    if start >= len(expression):
        raise TemplateSyntaxError(
            "empty reference: write a path such as trigger.data.id", start + 1
        )
    reference, path_end = scan_reference(expression, start)
    end = skip_space(expression, path_end)
    if end < len(expression):
        raise explain_after_path(expression, path_end, end)
    return reference
