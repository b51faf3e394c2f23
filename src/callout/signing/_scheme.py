"""Sign a body and verify a signature header: HMAC-SHA256 over `<t>.<body bytes>`."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Sequence

from callout.model.errors import SignatureError
from callout.signing._header import SignatureSet, format_set, parse_header

DEFAULT_SIGNATURE_HEADER = "Persona-Signature"
"""The header callout signs into unless a step names another."""

DEFAULT_TOLERANCE = 300
"""Seconds a timestamp may be away from the receiver's clock, as Stripe and Standard Webhooks."""


def _secret_list(secrets: str | Sequence[str]) -> list[str]:
    # A bare string is one secret, never a sequence of one-character secrets.
    given = [secrets] if isinstance(secrets, str) else list(secrets)
    if not given:
        raise ValueError("give at least one secret")
    for secret in given:
        if not isinstance(secret, str):
            raise TypeError(f"a secret must be a str, not {type(secret).__name__}")
        if not secret:
            raise ValueError("a secret must not be empty")
    return list(dict.fromkeys(given))


def _hex_digest(secret: str, timestamp_text: str, body: bytes) -> str:
    message = timestamp_text.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: Sequence[str], *, timestamp: int) -> str:
    """Return the signature header value for `body`, signed at `timestamp`.

    The value is `t=<timestamp>,v1=<hex>` where `<hex>` is the lowercase hex of
    HMAC-SHA256, keyed with the secret's UTF-8 bytes, over `b"<timestamp>." + body`.
    With several secrets (a rotation: the newest first) there is one set per distinct
    secret, in the order given, separated by one space. A bare `str` counts as one secret.

    Raises ValueError when no secret is given, a secret is empty, or `timestamp` is negative.
    """
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError("timestamp must be an int (unix seconds)")
    if timestamp < 0:
        raise ValueError("timestamp must not be negative")
    text = str(timestamp)
    sets = (format_set(timestamp, _hex_digest(s, text, body)) for s in _secret_list(secrets))
    return " ".join(sets)


def _matching_sets(
    sets: Sequence[SignatureSet], body: bytes, secrets: Sequence[str]
) -> list[SignatureSet]:
    matches: list[SignatureSet] = []
    for candidate in sets:
        # Every secret is tried against every set, with no early exit, so the time
        # taken does not tell which secret or set came close.
        matched = False
        for secret in secrets:
            expected = _hex_digest(secret, candidate.timestamp_text, body)
            matched |= hmac.compare_digest(expected, candidate.v1)
        if matched:
            matches.append(candidate)
    return matches


def verify(
    header: str,
    body: bytes,
    secrets: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a signature header against the raw request body; return the signed timestamp.

    `header` is the header's value (`t=..,v1=..`, possibly several sets during a
    rotation); `body` the exact bytes received, before any JSON parsing; `secrets`
    one secret or several (accept a request signed with any of them, e.g. while you
    rotate). The request verifies when some set's `v1` equals the HMAC of its own `t`
    and the body under one of the secrets (compared in constant time), and that `t` is
    at most `tolerance` seconds away from `now` (default: the current time) in either
    direction.

    Raises `callout.model.errors.SignatureError` with a reason fit to show or log:
    the header is malformed, no set matches (wrong secret, or the body changed after
    signing), or the timestamp is older or newer than the tolerance allows. Raises
    ValueError for a mistake of the caller's: no secret, an empty one, a negative tolerance.
    """
    secret_list = _secret_list(secrets)
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    sets = parse_header(header)
    matches = _matching_sets(sets, body, secret_list)
    if not matches:
        raise SignatureError(
            "no signature matches: the secret is wrong, or the body changed after signing"
        )
    current = time.time() if now is None else now
    # Several sets normally share one timestamp; prefer the match closest to now.
    best = min(matches, key=lambda s: abs(current - s.timestamp))
    age = current - best.timestamp
    if age > tolerance:
        raise SignatureError(
            f"timestamp too old: signed {math.ceil(age)} s ago (t={best.timestamp}); "
            f"the tolerance is {tolerance} s"
        )
    if -age > tolerance:
        raise SignatureError(
            f"timestamp in the future: signed {math.ceil(-age)} s ahead (t={best.timestamp}); "
            f"the tolerance is {tolerance} s (check the clocks)"
        )
    return best.timestamp
