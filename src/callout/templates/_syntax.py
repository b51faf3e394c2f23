"""The error a malformed `{{ }}` template raises, shared by the reference and template parsers."""

from __future__ import annotations

from callout.model.errors import CalloutError


class TemplateSyntaxError(ValueError, CalloutError):
    """A template or reference is not well formed; the message says what and where (column).

    It is a `ValueError` (bad input text) and a `CalloutError`, so a caller that
    handles every callout error handles this one too. `column` counts from 1.
    """

    def __init__(self, reason: str, column: int) -> None:
        self.reason = reason
        self.column = column
        super().__init__(f"{reason} (column {column})")

    def __reduce__(self) -> tuple[type[TemplateSyntaxError], tuple[str, int]]:
        return (type(self), (self.reason, self.column))
