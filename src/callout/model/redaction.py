"""Keep secret values out of everything callout records or prints, in every form it writes them.

callout places a secret in a request in one of these forms, and a server may
echo any of them back, so each is hidden wherever the secret itself is:

| form | where callout writes it |
|---|---|
| verbatim | header values, a whole-reference URL, anything a server decodes and echoes |
| without leading and trailing spaces, in each form | a header value, as it is on the wire |
| percent-encoded, `quote(value, safe="")` | a value in a URL's path, query or fragment |
| form-encoded, `quote_plus(value)` | a server echoing a query as a form |
| JSON-escaped, `ensure_ascii=False` | a string in the request body, as request.py writes it |
| JSON-escaped, `ensure_ascii=True` | the same, as most servers write it back |
| lower case (host characters only) | a value in a URL's host, which the transport lower-cases |

A step's `auth` adds what it sends to the redactor as values of their own: the
Basic credential's base64 of `user:password`, a bearer token, a fetched OAuth2
access token (steps/https_request/auth.py), so each is hidden in every form
above; the `Authorization` header is hidden whole anyway. The signing secret is
never sent: only the HMAC made with it is.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
"""Headers whose whole value is hidden in records, even when no known secret is in it."""

BATCH_CHARACTERS = 64 * 1024
"""`value` looks for secrets in the strings of a JSON value this many characters at a time
(joined, so a body of many small strings costs a few scans, not a few per string)."""

_SEPARATOR = "\uffff"
"""Joins a batch of strings (a noncharacter: rarely in text), unless a string or a form holds it."""

_SEPARATOR_CANDIDATES = (range(0xE000, 0xF900), range(0xF0000, 0xFFFFE), range(0x100000, 0x10FFFE))
"""Private-use characters, tried in turn when the batch or a form holds the separator."""

_HOST_TEXT = re.compile(r"[A-Za-z0-9.\-]+")


FORMS_KEPT = 256
"""Secret values whose forms a process remembers (a step's attempts use the same few)."""


@functools.lru_cache(maxsize=FORMS_KEPT)
def secret_forms(value: str) -> frozenset[str]:
    """Return every form in which callout may write `value` (the table in this module).

    Remembered for the last `FORMS_KEPT` values: every attempt builds a redactor from
    its secrets, and working out their forms again was most of its cost.
    """
    forms: set[str] = set()
    # A header value loses its leading and trailing spaces on the wire (HTTP's
    # optional whitespace), and a server echoes it so, in any of its forms.
    for text in {value, value.strip(" \t")} - {""}:
        forms |= {
            text,
            json.dumps(text, ensure_ascii=False)[1:-1],
            json.dumps(text, ensure_ascii=True)[1:-1],
        }
        # A lone surrogate has no UTF-8 form: resolution refuses it in a URL.
        with contextlib.suppress(UnicodeEncodeError):
            forms |= {quote(text, safe=""), quote_plus(text, safe="")}
    if _HOST_TEXT.fullmatch(value):
        forms.add(value.lower())
    return frozenset(form for form in forms if form)


class Redactor:
    """Replaces every known secret value, in each form callout writes it, with `[redacted]`.

    Cost: one linear search per form through a text (C speed: about 0.1 ms per
    form per MiB) and a replacement only for the forms found; see
    tests/unit/model/test_redaction_cost.py for measured bounds.
    """

    __slots__ = ("_form_chars", "_forms")

    def __init__(self, values: Iterable[str]) -> None:
        forms: set[str] = set()
        for value in values:
            forms |= secret_forms(value)
        # Longest first, so a form that contains another is hidden whole.
        self._forms = tuple(sorted(forms, key=lambda form: (-len(form), form)))
        self._form_chars = frozenset("".join(self._forms))

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"

    def text(self, text: str) -> str:
        """Return `text` with each secret value, in any of its forms, replaced."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def header(self, name: str, value: str) -> str:
        """Return a header value safe to record: credentials hidden, scheme word kept."""
        if name.lower() in CREDENTIAL_HEADERS:
            scheme, _, rest = value.partition(" ")
            return f"{scheme} {REDACTED}" if rest and scheme.isalpha() else REDACTED
        return self.text(value)

    def headers(self, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Return header pairs safe to record."""
        return tuple((name, self.header(name, value)) for name, value in pairs)

    def value(self, value: Any) -> Any:
        """Return a JSON value with each secret replaced inside its strings (keys too).

        The value itself comes back when no string holds a secret (nothing is
        copied); otherwise a copy. Neither walk recurses, so a deeply nested
        value cannot exhaust the stack.
        """
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.text(value)
        strings = _strings_in(value)
        changed = {
            before: after
            for batch in _batches(strings)
            for before, after in zip(batch, self._batch(batch), strict=True)
            if after != before
        }
        return _replaced(value, changed) if changed else value

    def _batch(self, batch: list[str]) -> list[str]:
        """Return each string of `batch` redacted, with a few scans of all of them joined."""
        if len(batch) == 1:
            return [self.text(batch[0])]
        separator = _SEPARATOR
        joined = separator.join(batch)
        if separator in self._form_chars or joined.count(separator) != len(batch) - 1:
            # The usual separator is in a string or a form: take a character that is
            # in neither (a set of the batch's characters, built once, finds one).
            taken = set(joined) | self._form_chars
            candidates = itertools.chain.from_iterable(_SEPARATOR_CANDIDATES)
            found = next((chr(c) for c in candidates if chr(c) not in taken), None)
            if found is None:  # more distinct characters than candidates: one by one
                return [self.text(item) for item in batch]
            separator = found
            joined = separator.join(batch)
        # No form holds the separator, so no form is found across two strings.
        redacted = self.text(joined)
        return batch if redacted is joined else redacted.split(separator)


def _strings_in(value: Any) -> list[str]:
    """Return every string in a JSON value, keys included (any order)."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(key for key in item if isinstance(key, str))
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return found


def _batches(strings: list[str]) -> Iterator[list[str]]:
    """Group strings into runs of about BATCH_CHARACTERS characters."""
    batch: list[str] = []
    size = 0
    for item in strings:
        batch.append(item)
        size += len(item) + 1
        if size >= BATCH_CHARACTERS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _replaced(value: Any, changed: Mapping[str, str]) -> Any:
    """Return a copy of a JSON value with each string in `changed` replaced (keys too)."""
    root, todo = _shell(value, changed)
    pending = [todo] if todo is not None else []
    while pending:
        target, source = pending.pop()
        if isinstance(target, dict):
            for key, item in source.items():
                target[changed.get(key, key)], more = _shell(item, changed)
                if more is not None:
                    pending.append(more)
        else:
            for item in source:
                made, more = _shell(item, changed)
                target.append(made)
                if more is not None:
                    pending.append(more)
    return root


def _shell(item: Any, changed: Mapping[str, str]) -> tuple[Any, tuple[Any, Any] | None]:
    """Return `item` with its string replaced, or an empty container and (it, `item`) to fill."""
    if isinstance(item, str):
        return changed.get(item, item), None
    if isinstance(item, dict):
        made_dict: dict[Any, Any] = {}
        return made_dict, (made_dict, item)
    if isinstance(item, list | tuple):
        made_list: list[Any] = []
        return made_list, (made_list, item)
    return item, None
