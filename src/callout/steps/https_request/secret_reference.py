"""A field that must be exactly one `{{ secrets.name }}` reference: a credential's only form.

A password, a bearer token, an OAuth2 client secret and a client certificate are
credentials: written in the document, they would be stored (and shown) in clear.
"""

from __future__ import annotations

from typing import Any

from callout.model.document import type_name
from callout.model.errors import Problem
from callout.templates import ReferenceRules, check_text, parse_template


def check_secret_reference(
    raw: Any, path: str, rules: ReferenceRules, *, example: str
) -> tuple[str | None, list[Problem]]:
    """Check that `raw` is exactly one secret reference; return it (None when not) and problems.

    `example` is the secret name the message suggests (`{{ secrets.<example> }}`).
    """
    shown = f"{{{{ secrets.{example} }}}}"
    if not isinstance(raw, str):
        return None, [Problem(path, f"must be a reference such as {shown}, not {type_name(raw)}")]
    found = check_text(raw, path, rules)
    if found:
        return None, found
    whole = parse_template(raw).whole
    if whole is None or whole.root != "secrets":
        return None, [
            Problem(
                path,
                f"must be exactly one secret reference such as {shown}; "
                "a credential written in the document would be stored in clear",
            )
        ]
    return raw, []
