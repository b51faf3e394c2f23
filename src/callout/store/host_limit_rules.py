"""What a per-host limit may say: the host's name, and the range of every number (no SQL here).

The API (`PUT /v1/host-limits/{host}`) and the CLI (`callout hosts limit`) check a
limit here, so both refuse the same things with the same words; each names the
fields its own way (`body.burst`, `--burst`). Every problem is reported at once.

A host is written as the engine keys it (see `store/delivery.py`): a DNS name or
an IP address, lower case, without scheme, port or path; `*` stands for every
host without a row of its own.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import replace

from callout.model.errors import Problem
from callout.store.delivery import ANY_HOST, HostLimit

MAX_IN_FLIGHT = 10_000
"""The most requests in flight a limit may allow (at least 1)."""

MAX_RATE = 10_000.0
"""The highest rate a limit may allow, in requests per second (more than 0)."""

MAX_BURST = 10_000
"""The most requests a rate may let go at once after an idle spell (at least 1)."""

MAX_BREAKER_FAILURES = 1_000
"""The highest breaker threshold (0 turns the breaker off for the host)."""

MIN_BREAKER_PAUSE, MAX_BREAKER_PAUSE_SETTING = 1.0, 86_400.0
"""The shortest and longest first pause (seconds) an opened breaker may wait."""

MAX_HOST_LENGTH = 253
"""The longest DNS name (RFC 1035)."""

FIELDS = (
    "host",
    "max_in_flight",
    "rate_per_second",
    "burst",
    "breaker_failures",
    "breaker_pause_seconds",
)
"""The fields of a limit as users write them; callers map each to their own name."""

_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


def _ip_literal(text: str) -> str | None:
    """Return an IP address as a URL's host name gives it (no brackets), or None."""
    bracketed = text.startswith("[") and text.endswith("]")
    inner = text[1:-1] if bracketed else text
    try:
        address = ipaddress.ip_address(inner)
    except ValueError:
        return None
    if "%" in text or (bracketed and not isinstance(address, ipaddress.IPv6Address)):
        return None  # a zone is the sender's own business; [ ] hold IPv6 only
    return inner


def _name_problem(text: str) -> str | None:
    if len(text) > MAX_HOST_LENGTH:
        return f"is longer than {MAX_HOST_LENGTH} characters"
    if text.endswith("."):
        return "must not end with a dot"
    labels = text.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return (
            "is not a host name: labels of letters, digits and hyphens (at most 63 "
            "characters each, no hyphen first or last) separated by dots"
        )
    if labels[-1].isdigit():
        return "is not a valid IP address or host name"
    return None


def _shape_problem(text: str) -> str | None:
    """Say what more than a host `text` holds (a scheme, a path, a wildcard...), or None."""
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        return "must not contain spaces or control characters"
    if "://" in text:
        return "must be the host alone, without a scheme (api.example.com, not https://...)"
    if "/" in text or "?" in text or "#" in text:
        return "must be the host alone, without a path"
    if "@" in text:
        return "must be the host alone, without user information"
    if "*" in text:
        return "only * alone stands for several hosts (every host without a limit of its own)"
    if not text.isascii():
        return "must be written in ASCII: an international name in its xn-- form"
    return None


def host_problem(text: str) -> str | None:
    """Say what makes `text` unusable as a limit's host, or None when it is one."""
    if not text:
        return "is required: a host name such as api.example.com, an IP address, or *"
    if text == ANY_HOST:
        return None
    shape = _shape_problem(text)
    if shape is not None:
        return shape
    if _ip_literal(text.lower()) is not None:
        return None
    if text.startswith("[") or text.count(":") > 1:
        return "is not a valid IPv6 address"
    if ":" in text:
        return "must not carry a port: a host's limit covers every port"
    return _name_problem(text.lower())


def normal_host(text: str) -> str:
    """Return a checked host as the engine keys it (`gated_host`): lower case, no brackets.

    An IPv6 address is kept as written (not compressed), as a URL's host name is.
    """
    lowered = text.lower()
    return _ip_literal(lowered) or lowered


def _range_problem(
    value: float | None, low: float, high: float, *, above_low: bool = False
) -> str | None:
    if value is None:
        return None
    if not math.isfinite(value) or value > high or (value <= low if above_low else value < low):
        shown = f"more than {low:g} and at most {high:g}" if above_low else f"{low:g} to {high:g}"
        return f"must be {shown}, got {value:g}"
    return None


def host_limit_problems(
    limit: HostLimit, *, names: Mapping[str, str] | None = None
) -> tuple[HostLimit, list[Problem]]:
    """Check a limit; return it with its host in the engine's form, and every problem.

    `names` maps each of `FIELDS` to what the caller calls it (API: `path.host`,
    `body.burst`; CLI: `HOST`, `--burst`); a field it leaves out keeps its own name.
    """
    named = {field: field for field in FIELDS} | dict(names or {})
    problems: list[Problem] = []
    host_text = host_problem(limit.host)
    if host_text is not None:
        problems.append(Problem(named["host"], host_text))
    checks = (
        ("max_in_flight", _range_problem(limit.max_in_flight, 1, MAX_IN_FLIGHT)),
        ("rate_per_second", _range_problem(limit.rate_per_second, 0, MAX_RATE, above_low=True)),
        ("burst", _range_problem(limit.burst, 1, MAX_BURST)),
        ("breaker_failures", _range_problem(limit.breaker_failures, 0, MAX_BREAKER_FAILURES)),
        (
            "breaker_pause_seconds",
            _range_problem(limit.breaker_pause, MIN_BREAKER_PAUSE, MAX_BREAKER_PAUSE_SETTING),
        ),
    )
    problems += [Problem(named[field], text) for field, text in checks if text is not None]
    if limit.burst is not None and limit.rate_per_second is None:
        problems.append(
            Problem(
                named["burst"],
                f"needs a rate: a burst is how many requests the rate lets go at once "
                f"(set {named['rate_per_second']} too, or leave the burst out)",
            )
        )
    if host_text is not None:
        return limit, problems
    return replace(limit, host=normal_host(limit.host)), problems
