"""Which earlier steps a step's config references: the outputs an attempt must read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callout.templates import TemplateSyntaxError, parse_template


def referenced_steps(raw: Any) -> frozenset[str]:
    """Return the ids named by `{{ steps.<id>... }}` anywhere in a raw step config.

    Keys are not templates (only values are resolved), so only values are read; a
    text that does not parse names none (validation reports it). The walk keeps its
    own stack, so a deep config cannot exhaust Python's.
    """
    names: set[str] = set()
    pending: list[Any] = [raw]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "{{" not in value:
                continue
            try:
                template = parse_template(value)
            except TemplateSyntaxError:
                continue
            names.update(
                reference.path[0]
                for reference in template.references
                if reference.root == "steps"
                and reference.path
                and isinstance(reference.path[0], str)
            )
        elif isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return frozenset(names)
