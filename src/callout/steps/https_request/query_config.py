"""The step's `query` field: parameters callout encodes and adds after the URL's own query."""

from __future__ import annotations

from typing import Any

from callout.model.errors import Problem
from callout.steps.https_request.pairs_config import check_pairs
from callout.templates import ReferenceRules

MAX_QUERY_PARAMETERS = 50
MAX_QUERY_VALUE_LENGTH = 8192


def check_query(
    raw: Any, path: str, rules: ReferenceRules
) -> tuple[tuple[tuple[str, str], ...], list[Problem]]:
    """Check `query`: up to 50 `{key, value}` pairs, keys literal, values text templates."""
    if raw is None:
        return (), []
    return check_pairs(
        raw,
        path,
        rules,
        what="query parameter",
        most=MAX_QUERY_PARAMETERS,
        value_chars=MAX_QUERY_VALUE_LENGTH,
    )
