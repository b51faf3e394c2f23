"""Times as callout shows them: UTC, ISO 8601, millisecond precision."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(unix_seconds: float) -> str:
    """Format unix seconds as `2026-11-28T22:53:38.123Z`."""
    moment = datetime.fromtimestamp(unix_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
