"""How the step's connection behaves: its client certificate (mTLS) and redirects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callout.model.errors import Problem
from callout.steps.https_request.secret_reference import check_secret_reference
from callout.templates import ReferenceRules

MAX_REDIRECTS = 5
"""`follow_redirects: true` follows up to this many redirects."""


def check_client_certificate(
    raw: Any, path: str, rules: ReferenceRules
) -> tuple[str | None, list[Problem]]:
    """Check `client_certificate`: one secret reference (PEM certificate and key), or absent."""
    if raw is None:
        return None, []
    return check_secret_reference(raw, path, rules, example="partner_cert")


def check_follow_redirects(raw: Mapping[str, Any], path: str) -> tuple[bool, list[Problem]]:
    """Check `follow_redirects`: true or false (the default)."""
    value = raw.get("follow_redirects", False)
    if not isinstance(value, bool):
        return False, [Problem(path, f"must be true or false (true follows up to {MAX_REDIRECTS})")]
    return value, []
