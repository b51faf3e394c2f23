"""A group commit's writes of one merge become one call; each caller gets its own answer."""

from __future__ import annotations

from typing import Any

from callout.store.merged_writes import Merged, batch_calls


def _alone(conn: Any) -> str:
    return "alone"


def _doubled(conn: Any, items: list[int]) -> list[int]:
    return [item * 2 for item in items]


def _named(conn: Any, items: list[str]) -> list[str]:
    return [f"<{item}>" for item in items]


def test_writes_of_one_merge_are_one_call_at_the_first_ones_place() -> None:
    made = batch_calls(
        [
            (_alone, True),
            (Merged(_doubled, 1), False),
            (Merged(_named, "a"), False),
            (_alone, False),
            (Merged(_doubled, 5), False),
            (Merged(_named, "b"), False),
        ]
    )
    assert [call.members for call in made] == [[0], [1, 4], [2, 5], [3]]
    assert [call.savepoint for call in made] == [True, False, False, False]
    assert [call.merged for call in made] == [False, True, True, False]
    no_connection: Any = None  # the calls here never touch one
    results = [call.call(no_connection) for call in made]
    assert results == ["alone", [2, 10], ["<a>", "<b>"], "alone"]
    # Each member is answered with its own item's result.
    answers = {
        member: call.answer(result, position)
        for call, result in zip(made, results, strict=True)
        for position, member in enumerate(call.members)
    }
    assert answers == {0: "alone", 1: 2, 2: "<a>", 3: "alone", 4: 10, 5: "<b>"}


def test_a_batch_without_merged_writes_is_one_call_each() -> None:
    made = batch_calls([(_alone, True), (_alone, False)])
    assert [(call.members, call.savepoint, call.merged) for call in made] == [
        ([0], True, False),
        ([1], False, False),
    ]
