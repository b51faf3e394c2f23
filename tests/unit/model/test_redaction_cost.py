"""Redacting a large body with many secrets stays bounded: a few linear scans, whatever it holds.

Measured on the 2-core development box (20 secrets, 77 forms; each figure the
first run, so generous bounds here): 64 KiB of text ~0.5 ms, 1 MiB ~10-25 ms,
1 MiB built to be the worst case of the search (a run of `a` against 20
secrets of `aaa...a?`) ~200 ms; a JSON value of 1 MiB in 95,000 small strings
~125 ms. A pattern of all forms (`re` alternation) took 90-270 ms for
1 MiB of ordinary text and grows with the secrets' length on a crafted one.
"""

from __future__ import annotations

import random
import string
import time

import pytest

from callout.model.redaction import REDACTED, Redactor

SECRET_ALPHABET = string.ascii_letters + string.digits + '"\\%+/= é€😀'
BOUND_SECONDS = 2.0
"""Far above what was measured (see above): only a super-linear redaction would pass it."""


def twenty_secrets(seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(SECRET_ALPHABET) for _ in range(24)) for _ in range(20)]


def timed(redact: object, argument: object) -> tuple[float, object]:
    assert callable(redact)
    started = time.perf_counter()
    result = redact(argument)
    return time.perf_counter() - started, result


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024])
def test_a_large_text_with_twenty_secrets_in_it_is_redacted_in_bounded_time(size: int) -> None:
    secrets = twenty_secrets(size)
    rng = random.Random(size)
    pieces: list[str] = []
    while len(pieces) // 2 * 5000 < size:
        pieces.append("".join(rng.choices(string.ascii_letters + ' ,:{}"', k=5000)))
        pieces.append(secrets[len(pieces) % 20])
    text = "".join(pieces)

    seconds, redacted = timed(Redactor(secrets).text, text)

    assert isinstance(redacted, str)
    assert redacted.count(REDACTED) == len(pieces) // 2
    assert seconds < BOUND_SECONDS


def test_a_text_crafted_against_the_search_is_redacted_in_bounded_time() -> None:
    secrets = ["a" * 23 + chr(ord("b") + index) for index in range(20)]

    seconds, redacted = timed(Redactor(secrets).text, "a" * (1024 * 1024))

    assert redacted == "a" * (1024 * 1024)
    assert seconds < BOUND_SECONDS


def test_a_json_value_of_many_small_strings_is_redacted_in_bounded_time() -> None:
    secrets = twenty_secrets(7)
    rng = random.Random(7)
    strings = ["".join(rng.choices(string.ascii_letters, k=8)) for _ in range(95_000)]
    strings[::50] = [secrets[index % 20] for index in range(len(strings[::50]))]

    seconds, redacted = timed(Redactor(secrets).value, {"items": strings})

    assert isinstance(redacted, dict)
    assert redacted["items"].count(REDACTED) == len(strings[::50])
    assert seconds < BOUND_SECONDS


def test_strings_holding_the_batch_separator_do_not_make_redaction_per_string() -> None:
    secrets = twenty_secrets(11)
    rng = random.Random(11)
    strings = ["".join(rng.choices(string.ascii_letters, k=8)) + "\uffff" for _ in range(95_000)]
    strings[::50] = [secrets[index % 20] for index in range(len(strings[::50]))]

    seconds, redacted = timed(Redactor(secrets).value, strings)

    assert isinstance(redacted, list)
    assert redacted.count(REDACTED) == len(strings[::50])
    assert redacted[1] == strings[1]
    assert seconds < BOUND_SECONDS
