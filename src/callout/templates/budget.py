"""Count the size a resolution produces, and stop it as soon as the result passes its limit.

A body of 2,000 copies of `"{{ trigger.a }}"` costs nothing to resolve (each
copy is the same object) and 100 MB to serialise; so the size is counted as
the result is built, a value met again is counted again (from a memo, not by
serialising it twice), and text is checked against the limit before it is
joined or encoded. Sizes are exact: a body's is the length in UTF-8 bytes of
its compact JSON (`json.dumps(value, separators=(",", ":"),
ensure_ascii=False)`), as the request serialises it; a URL's and a header's
are their length in characters.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from callout.model.errors import RequestRejected, ResolvedTooLarge

_ESCAPED = re.compile(r'[\x00-\x1f"\\]')
"""Characters JSON writes as an escape (with `ensure_ascii=False`, only these)."""

MEMO_FROM = 256
"""Values of at least this many bytes are remembered; smaller ones cost less to count again
than to remember (counting again never costs more than the budget it uses up)."""

MAX_WHERE_SHOWN = 200
"""An error names where resolution stopped in at most this many characters."""


def _string_size(text: str, cap: int) -> int:
    """Return the UTF-8 size of `text` as a JSON string, or a number over `cap` once it is."""
    if len(text) + 2 > cap:
        # Every character takes at least one byte: over already, and nothing copied.
        return len(text) + 2
    if text.isascii() and _ESCAPED.search(text) is None:
        return len(text) + 2  # the common case, without a copy
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def key_text(key: Any) -> str:
    """Return an object key as JSON writes it (keys that are not text become their JSON text)."""
    return key if isinstance(key, str) else json.dumps(key)


def _scalar_size(value: Any) -> int:
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    try:
        if type(value) is int or (type(value) is float and math.isfinite(value)):
            return len(repr(value))  # what json writes for them, without its overhead
        return len(json.dumps(value))
    except ValueError:  # an integer beyond Python's digit limit
        raise RequestRejected("a resolved number is too long to write as JSON") from None


def json_size(value: Any, cap: int) -> int:
    """Return the compact JSON size of `value` in UTF-8 bytes; past `cap`, any number over it.

    An object or a list wider than `cap` could hold is refused by its length
    alone; any other is serialised once, by the C encoder (a Python walk was
    twenty times slower). That costs one copy of a value already held, never
    more: the amplification comes from repeats, which the budget's memo counts.
    """
    if isinstance(value, str):
        return _string_size(value, cap)
    if not isinstance(value, dict | list | tuple):
        return _scalar_size(value)
    # Each entry takes at least one character and a comma: too wide is over unseen.
    least = 2 * len(value) + 1
    if least > cap:
        return least
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:
        raise RequestRejected("a resolved value is nested too deeply to write as JSON") from None
    except ValueError:  # an integer beyond Python's digit limit
        raise RequestRejected("a resolved number is too long to write as JSON") from None
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class SizeBudget:
    """The size left for one resolved result (a body, a URL, a header value).

    `what` names the result in the error ("the resolved body"); `unit` is
    "bytes" (JSON, UTF-8) or "characters" (text).
    """

    __slots__ = ("_memo", "limit", "unit", "used", "what")

    def __init__(self, limit: int, *, what: str, unit: str = "bytes") -> None:
        self.limit = limit
        self.what = what
        self.unit = unit
        self.used = 0
        # id -> (value, size): the value is kept so its id cannot be reused meanwhile.
        self._memo: dict[int, tuple[Any, int]] = {}

    def __repr__(self) -> str:
        return f"SizeBudget({self.what}: {self.used} of {self.limit} {self.unit})"

    @property
    def remaining(self) -> int:
        """Return how much may still be added before the result passes its limit."""
        return self.limit - self.used

    def exceeded(self, where: str) -> ResolvedTooLarge:
        """Return the error that says the result passed its limit at `where`."""
        if len(where) > MAX_WHERE_SHOWN:
            where = where[: MAX_WHERE_SHOWN - 3] + "..."
        return ResolvedTooLarge(
            f"{self.what} passes {self.limit} {self.unit} at {where}; resolution stopped there"
        )

    def add(self, size: int) -> bool:
        """Add `size`; return False once the total has passed the limit."""
        self.used += size
        return self.used <= self.limit

    def add_json(self, value: Any) -> bool:
        """Add the compact JSON size of `value`; return False once past the limit.

        A value met before (the same object) is counted again, from the memo.
        """
        if value is None or isinstance(value, bool | int | float):
            return self.add(_scalar_size(value))
        known = self._memo.get(id(value))
        if known is not None and known[0] is value:
            return self.add(known[1])
        size = json_size(value, self.remaining)
        if MEMO_FROM <= size <= self.remaining:
            self._memo[id(value)] = (value, size)
        return self.add(size)
