"""Sortable, prefixed ids (`wfr_01J...`): time first, so ids sort by creation.

An id names a record; it grants nothing (API keys, session ids and signing
secrets come from `secrets`), so its 80 random bits come from a generator
seeded from the operating system's randomness once per process (and again in
a forked child), not from a system call per id: a trigger makes three ids.
"""

from __future__ import annotations

import base64
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


_FROM_STANDARD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)
"""RFC 4648's base32 digits to Crockford's, value for value."""


def _random_part() -> str:
    """16 characters of 80 random bits, as `_base32(bits, 16)` writes them, faster."""
    bits = _random.getrandbits(80).to_bytes(10, "big")
    return base64.b32encode(bits).decode("ascii").translate(_FROM_STANDARD)


def _base32(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str, *, now: float | None = None) -> str:
    """Return a new id: prefix, `_`, 10 characters of milliseconds, 16 of randomness."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = int((time.time() if now is None else now) * 1000)
    return f"{prefix}_{_base32(millis, 10)}{_random_part()}"
