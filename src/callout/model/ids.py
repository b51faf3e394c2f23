"""Sortable, prefixed ids (`wfr_01J...`): time first, so ids sort by creation.

An id names a record; it grants nothing (API keys, session ids and signing
secrets come from `secrets`), so its 80 random bits come from a generator
seeded from the operating system's randomness once per process (and again in
a forked child), not from a system call per id: a trigger makes three ids.
"""

from __future__ import annotations

import os
import random
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
ID_DIGITS = _ALPHABET
"""The digits of an id after its prefix, by value (a claim on PostgreSQL writes two)."""

PREFIXES = frozenset(
    {"wfl", "wflv", "wfr", "stp", "att", "org", "sec", "key", "wrk", "trg", "evt", "ntf"}
)


_random = random.Random(os.urandom(32))  # noqa: S311 - ids name records, they grant nothing
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


_PAIRS = tuple(high + low for high in _ALPHABET for low in _ALPHABET)
"""The two digits of every 10-bit value, the high one first."""

_SHIFTS = tuple(range(120, -1, -10))
"""Where each pair of an id's 130 bits (50 of milliseconds, 80 random) starts, highest first."""


def new_id(prefix: str, *, now: float | None = None) -> str:
    """Return a new id: prefix, `_`, 10 characters of milliseconds, 16 of randomness.

    Each is the number in base 32, most significant digit first, two digits per
    table look-up (a trigger makes several ids: digit by digit, or through
    `base64`, they were 7% of the API's time).
    """
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = int((time.time() if now is None else now) * 1000)
    number = (millis & (1 << 50) - 1) << 80 | _random.getrandbits(80)
    return prefix + "_" + "".join([_PAIRS[number >> shift & 1023] for shift in _SHIFTS])
