"""Listing conventions: newest first, `limit` (1-200, default 50) and a `cursor` to page on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict

LimitQuery = Annotated[int, Query(ge=1, le=200, description="How many to return (1-200)")]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[a-z]+_[0-9A-Z]+$",
        description="`next_cursor` of the previous page",
    ),
]


class PageInfo(BaseModel):
    """Where the next page starts (null on the last page)."""

    model_config = ConfigDict(extra="forbid")
    next_cursor: str | None


def next_cursor(ids: list[str], limit: int) -> str | None:
    """Return the cursor for the page after one holding `ids` (None when it was the last)."""
    return ids[-1] if len(ids) == limit and ids else None
