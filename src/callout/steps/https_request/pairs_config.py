"""Lists of `{key, value}` pairs whose keys are literal and values are text templates.

Query parameters and form bodies are such lists; callout encodes both itself, so a
key or a value may hold any character (it cannot change the structure it lands in).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from callout.model.document import type_name, unknown_keys
from callout.model.errors import Problem
from callout.templates import ReferenceRules, check_text

NOT_UNICODE = "holds text that is not valid Unicode (a lone surrogate, as JSON may escape one)"


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def each_pair(
    raw: list[Any], path: str, problems: list[Problem]
) -> Iterator[tuple[int, str, Any, Any]]:
    """Yield `(index, path, key, value)` for each object in `raw`; add each shape problem."""
    for index, item in enumerate(raw):
        here = f"{path}[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(here, "must be an object with key and value"))
            continue
        problems.extend(unknown_keys(item, ("key", "value"), here))
        yield index, here, item.get("key"), item.get("value")


def check_pairs(  # noqa: C901, PLR0913 - one branch per rule; the caller's limits
    raw: Any,
    path: str,
    rules: ReferenceRules,
    *,
    what: str,
    most: int,
    value_chars: int,
) -> tuple[tuple[tuple[str, str], ...], list[Problem]]:
    """Check a list of `{key, value}` pairs; return them (empty when invalid) and every problem.

    `what` names one pair's kind in messages ("query parameter", "form field");
    `most` is the longest list allowed, `value_chars` the longest value template.
    """
    if not isinstance(raw, list):
        return (), [Problem(path, f"must be a list of {{key, value}} pairs, not {type_name(raw)}")]
    if len(raw) > most:
        return (), [Problem(path, f"has {len(raw)} {what}s; at most {most}")]
    problems: list[Problem] = []
    pairs: list[tuple[str, str]] = []
    for _, here, key, value in each_pair(raw, path, problems):
        key_ok = value_ok = False
        if not isinstance(key, str) or not key:
            problems.append(Problem(f"{here}.key", f"is required: the {what}'s name"))
        elif "{{" in key or "}}" in key:
            why = f"a {what}'s name is literal text; it cannot hold a reference"
            problems.append(Problem(f"{here}.key", why))
        elif not _is_unicode(key):
            problems.append(Problem(f"{here}.key", NOT_UNICODE))
        else:
            key_ok = True
        if not isinstance(value, str):
            problems.append(
                Problem(
                    f"{here}.value",
                    f'must be a string, not {type_name(value)} (write "10", or a reference)',
                )
            )
        elif len(value) > value_chars:
            problems.append(Problem(f"{here}.value", f"is longer than {value_chars} characters"))
        elif not _is_unicode(value):
            problems.append(Problem(f"{here}.value", NOT_UNICODE))
        else:
            found = check_text(value, f"{here}.value", rules)
            problems.extend(found)
            value_ok = not found
        if key_ok and value_ok and isinstance(key, str) and isinstance(value, str):
            pairs.append((key, value))
    return (tuple(pairs) if not problems else ()), problems
