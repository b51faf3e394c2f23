"""Keep secret values out of everything callout records or prints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"

CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
"""Headers whose whole value is hidden in records, even when no known secret is in it."""


class Redactor:
    """Replaces every known secret value in a text with `[redacted]`."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is hidden whole.
        self._values = tuple(sorted({v for v in values if v}, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor({len(self._values)} values)"

    def text(self, text: str) -> str:
        """Return `text` with each secret value replaced."""
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def header(self, name: str, value: str) -> str:
        """Return a header value safe to record: credentials hidden, scheme word kept."""
        if name.lower() in CREDENTIAL_HEADERS:
            scheme, _, rest = value.partition(" ")
            return f"{scheme} {REDACTED}" if rest and scheme.isalpha() else REDACTED
        return self.text(value)

    def headers(self, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Return header pairs safe to record."""
        return tuple((name, self.header(name, value)) for name, value in pairs)

    def value(self, value: Any) -> Any:
        """Return a JSON value with each secret value replaced inside its strings (keys too)."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value
