"""Writes of one kind in a group commit, made by one call for all of them.

Many trigger calls arrive at once, and a group commit carries them together
(`SqlStore.write`). Each still cost a statement of its own: on PostgreSQL a
round trip, with its parsing, binding and execution on both sides. A write
queued as `Merged` names the call that makes many such writes at once
(`trigger_calls.start_many`, `SyncSqlStore.finish_attempts`): the items of one
batch with the same `merge` become one call of it, at the place of the first, and
each caller gets its own item's result. Like a write without a savepoint, a merged
call fails whole: every caller of it is told, and nothing of the batch commits. A member refused
alone, having written nothing (a result whose lease was taken over), is answered
`Refused`: its caller gets the error, the others their results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

A = TypeVar("A")
T = TypeVar("T")


@dataclass(frozen=True)
class Merged(Generic[A, T]):
    """A write queued for a group commit, made with the batch's other items of `merge`.

    `merge(connection, items)` returns one result per item, in order.
    """

    merge: Callable[[sa.Connection, list[A]], list[T]]
    item: A


@dataclass(frozen=True)
class Refused:
    """A merged write's answer for a member refused alone, having written nothing."""

    error: Exception


@dataclass
class BatchCall:
    """One call of a group commit, and which of its queued writes it answers."""

    call: Callable[[sa.Connection], Any]
    savepoint: bool
    members: list[int] = field(default_factory=list)
    """The places in the batch of the writes it makes."""
    merged: bool = False
    """Its result is a list, one item per member."""

    def answer(self, result: Any, position: int) -> Any:
        """Return the result of its `position`th member."""
        return result[position] if self.merged else result


Write = Callable[[sa.Connection], Any] | Merged[Any, Any]
"""A write queued for a group commit: a call of its own, or an item of a merge."""


def batch_calls(queued: Sequence[tuple[Write, bool]]) -> list[BatchCall]:
    """Return the calls making `queued` (call or `Merged`, savepoint), merging what merges."""
    calls: list[BatchCall] = []
    merges: dict[Any, tuple[BatchCall, list[Any]]] = {}
    for place, (call, savepoint) in enumerate(queued):
        if not isinstance(call, Merged):
            calls.append(BatchCall(call, savepoint, [place]))
            continue
        if call.merge not in merges:
            items: list[Any] = []
            merges[call.merge] = (
                BatchCall(_merging(call.merge, items), savepoint=False, merged=True),
                items,
            )
            calls.append(merges[call.merge][0])
        merged, items = merges[call.merge]
        merged.members.append(place)
        items.append(call.item)
    return calls


def _merging(
    merge: Callable[[sa.Connection, list[A]], list[T]], items: list[A]
) -> Callable[[sa.Connection], list[T]]:
    def made(conn: sa.Connection) -> list[T]:
        results = merge(conn, items)
        if len(results) != len(items):  # pragma: no cover - a merge of this package's own
            raise AssertionError(f"{len(results)} results for {len(items)} merged writes")
        return results

    return made
