"""The text of a signature header: `t=<unix seconds>,v1=<hex>`, sets separated by one space."""

from __future__ import annotations

import re
from dataclasses import dataclass

from callout.model.errors import SignatureError

MAX_HEADER_LENGTH = 4096
"""Longer headers are refused unread: a rotation needs two sets of about 80 characters."""

MAX_SETS = 8
"""More sets are refused, so a forged header cannot make a receiver compute many HMACs."""

_SHOWN = 40  # characters of a bad item quoted in a reason: enough to recognise it

_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class SignatureSet:
    """One `t=..,v1=..` set: the timestamp as written, its value, and the HMAC hex."""

    timestamp_text: str
    timestamp: int
    v1: str


def format_set(timestamp: int, v1: str) -> str:
    """Return one set as it appears in the header."""
    return f"t={timestamp},v1={v1}"


def _parse_set(text: str, where: str) -> SignatureSet:
    fields: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            shown = item if len(item) <= _SHOWN else item[:_SHOWN] + "..."
            raise SignatureError(
                f"malformed signature header: {where} has {shown!r}, not key=value"
            )
        if key in ("t", "v1"):
            if key in fields:
                raise SignatureError(f"malformed signature header: {where} repeats {key}=")
            fields[key] = value
        # Other keys (a later scheme such as v2=) are ignored, as Stripe's receivers do.
    timestamp_text = fields.get("t")
    v1 = fields.get("v1")
    if timestamp_text is None or v1 is None:
        missing = " and ".join(k for k in ("t", "v1") if k not in fields)
        raise SignatureError(f"malformed signature header: {where} has no {missing}=")
    if not _TIMESTAMP.fullmatch(timestamp_text):
        raise SignatureError(
            f"malformed signature header: t= must be unix seconds (digits), "
            f"not {timestamp_text[:_SHOWN]!r}"
        )
    if not _HEX_DIGEST.fullmatch(v1):
        raise SignatureError("malformed signature header: v1= must be 64 hexadecimal digits")
    return SignatureSet(timestamp_text, int(timestamp_text), v1.lower())


def parse_header(header: str) -> tuple[SignatureSet, ...]:
    """Return the sets of a header value, in order. Raises SignatureError when it is malformed.

    Sets are separated by whitespace (one space when callout sends them); surrounding
    whitespace is ignored.
    """
    if len(header) > MAX_HEADER_LENGTH:
        raise SignatureError(
            f"malformed signature header: longer than {MAX_HEADER_LENGTH} characters"
        )
    parts = header.split()
    if not parts:
        raise SignatureError("malformed signature header: it is empty")
    if len(parts) > MAX_SETS:
        raise SignatureError(f"malformed signature header: more than {MAX_SETS} sets")
    if len(parts) == 1:
        return (_parse_set(parts[0], "the header"),)
    return tuple(_parse_set(part, f"set {n}") for n, part in enumerate(parts, start=1))
