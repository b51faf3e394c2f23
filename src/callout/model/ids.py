"""Sortable, prefixed ids (`wfr_01J...`): time first, so ids sort by creation."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U

PREFIXES = frozenset({"wfl", "wflv", "wfr", "stp", "att", "org", "sec", "key", "wrk", "trg"})


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
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"
