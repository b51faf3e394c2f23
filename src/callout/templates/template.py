"""A template: literal text with `{{ reference }}` holes, parsed once and cached."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from callout.templates._syntax import TemplateSyntaxError
from callout.templates.reference import (
    Reference,
    explain_after_path,
    scan_reference,
    skip_space,
)

__all__ = ["Template", "TemplateSyntaxError", "parse_template"]

OPEN, CLOSE = "{{", "}}"
PARSED_TEMPLATE_CACHE_SIZE = 4096
"""How many distinct parsed texts `parse_template` keeps (each attempt parses the same ones)."""


@dataclass(frozen=True, slots=True)
class Template:
    """Literal strings and references in order; literals are never empty nor adjacent."""

    parts: tuple[str | Reference, ...]

    @property
    def whole(self) -> Reference | None:
        """Return the reference when the text is exactly one (spaces around it allowed)."""
        found: Reference | None = None
        for part in self.parts:
            if isinstance(part, Reference):
                if found is not None:
                    return None
                found = part
            elif part.strip(" \t\r\n"):
                return None
        return found

    @property
    def references(self) -> tuple[Reference, ...]:
        """Return every reference, in order of appearance (repeats included)."""
        return tuple(part for part in self.parts if isinstance(part, Reference))


@functools.lru_cache(maxsize=PARSED_TEMPLATE_CACHE_SIZE)
def parse_template(text: str) -> Template:
    """Parse `text` into literals and references; cached, so parse freely.

    Raises TemplateSyntaxError for an unclosed `{{`, an empty `{{ }}`, a stray
    `}}`, or anything inside braces that is not a plain path. The column in the
    message counts from 1 in `text`.
    """
    parts: list[str | Reference] = []
    literal: list[str] = []
    pos = 0
    while pos < len(text):
        opening = text.find(OPEN, pos)
        closing = text.find(CLOSE, pos)
        if closing != -1 and (opening == -1 or closing < opening):
            raise TemplateSyntaxError(
                '"}}" without an opening "{{" (a literal "}}" cannot appear in a template)',
                closing + 1,
            )
        if opening == -1:
            literal.append(text[pos:])
            break
        literal.append(text[pos:opening])
        reference, pos = _read_hole(text, opening)
        if joined := "".join(literal):
            parts.append(joined)
        literal.clear()
        parts.append(reference)
    if joined := "".join(literal):
        parts.append(joined)
    return Template(parts=tuple(parts))


def _read_hole(text: str, opening: int) -> tuple[Reference, int]:
    """Read `{{ path }}` at `opening`; return the reference and the index after `}}`."""
    start = skip_space(text, opening + len(OPEN))
    if start >= len(text):
        raise TemplateSyntaxError('unclosed "{{": add "}}" after the reference', opening + 1)
    if text.startswith(CLOSE, start):
        raise TemplateSyntaxError(
            'empty reference "{{ }}": write a path such as trigger.data.id', opening + 1
        )
    reference, path_end = scan_reference(text, start)
    end = skip_space(text, path_end)
    if text.startswith(CLOSE, end):
        return reference, end + len(CLOSE)
    if end >= len(text):
        raise TemplateSyntaxError('unclosed "{{": add "}}" after the reference', opening + 1)
    raise explain_after_path(text, path_end, end)
