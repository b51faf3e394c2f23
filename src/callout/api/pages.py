"""Listing conventions: newest first, `limit` (1-200, default 50) and a `cursor` to page on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict

T = TypeVar("T")

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


def page_of(items: list[T], limit: int, id_of: Callable[[T], str]) -> tuple[list[T], str | None]:
    """Cut `items` (asked for with `limit + 1`) to a page; the cursor is None on the last page."""
    page = items[:limit]
    return page, id_of(page[-1]) if len(items) > limit else None
