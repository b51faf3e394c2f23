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

PREFIXES = frozenset(
    {"wfl", "wflv", "wfr", "stp", "att", "org", "sec", "key", "wrk", "trg", "evt", "ntf"}
)


_random = random.Random(os.urandom(32))  # noqa: S311 - ids name records, they grant nothing
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


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
    return f"{prefix}_{_base32(millis, 10)}{_base32(_random.getrandbits(80), 16)}"
