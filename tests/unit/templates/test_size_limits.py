"""Resolution counts the size it produces and stops as soon as the result passes its limit.

The issue's case: a body of 2,000 copies of `"{{ trigger.a }}"` (30 KB of
document) with a 50 KB `a` built 100 MB (190 MiB traced) before the 1 MiB check
refused it. Now it stops at the 21st copy, having spent almost nothing.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callout.engine.attached import run_attached
from callout.engine.executor import StepExecutor
from callout.engine.starting import start_run
from callout.http import InboundResponse
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.model.errors import ResolvedTooLarge
from callout.steps.https_request.config import MAX_BODY_BYTES
from callout.steps.validation import validate_workflow
from callout.store.memory import MemoryStore
from callout.templates import Scope, SizeBudget, resolve_text, resolve_url, resolve_value
from callout.templates.budget import json_size

BIG = "x" * 50_000
BLOW_UP = ["{{ trigger.a }}"] * 2000
"""The issue's document body: 30 KB that resolves to 100 MB."""

SMALL_PEAK = 4 * 1024 * 1024
"""Traced peak allowed while refusing: the 1 MiB limit plus room (measured: about 0.1 MiB)."""


def scope_of(trigger: Any, **secrets: str) -> Scope:
    return Scope(trigger=trigger, steps={}, secrets=secrets, run={"id": "wfr_1"})


def body_budget() -> SizeBudget:
    return SizeBudget(MAX_BODY_BYTES, what="the resolved body")


def compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def footprint(value: Any) -> int:
    """Return the bytes a JSON value takes in memory (each object once)."""
    seen: set[int] = set()
    pending = [value]
    total = 0
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return total


def peak_while(action: Callable[[], object]) -> tuple[int, BaseException | None]:
    """Run `action`; return the traced memory peak and what it raised."""
    tracemalloc.start()
    raised: BaseException | None = None
    try:
        action()
    except ResolvedTooLarge as exc:
        raised = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


@pytest.mark.parametrize(
    "body",
    [
        BLOW_UP,
        ["x {{ trigger.a }}"] * 2000,  # interpolated: each copy is new text
        {"all": ["{{ trigger }}"] * 2000},  # a whole object, again and again
        {"one": "{{ trigger.a }}{{ trigger.a }}" * 1000},  # one text of 2,000 copies
    ],
    ids=["whole-reference", "interpolated", "whole-object", "one-text"],
)
def test_a_body_that_blows_up_stops_at_its_limit_before_the_memory_is_spent(body: Any) -> None:
    scope = scope_of({"a": BIG})

    peak, raised = peak_while(lambda: resolve_value(body, scope, budget=body_budget()))

    assert isinstance(raised, ResolvedTooLarge)
    assert raised.kind == "request_too_large"
    assert str(raised).startswith("the resolved body passes 1048576 bytes at body")
    assert "{{ trigger" in str(raised)
    assert peak < SMALL_PEAK


def test_the_error_names_where_resolution_stopped() -> None:
    with pytest.raises(ResolvedTooLarge) as caught:
        resolve_value(BLOW_UP, scope_of({"a": BIG}), budget=body_budget())
    assert str(caught.value) == (
        "the resolved body passes 1048576 bytes at body[20] ({{ trigger.a }}); "
        "resolution stopped there"
    )


def test_a_value_too_wide_for_the_limit_is_refused_without_being_serialised() -> None:
    scope = scope_of({"ids": list(range(600_000))})  # at least 1,200,001 bytes as JSON

    peak, raised = peak_while(
        lambda: resolve_value({"ids": "{{ trigger.ids }}"}, scope, budget=body_budget())
    )

    assert isinstance(raised, ResolvedTooLarge)
    assert "body.ids ({{ trigger.ids }})" in str(raised)
    assert peak < 64 * 1024


def test_one_large_value_costs_at_most_one_copy_of_itself_to_count() -> None:
    rows = [{"id": index, "name": "n"} for index in range(20_000)]
    # About 450 KB as JSON: the third copy passes 1 MiB.
    scope = scope_of({"rows": rows})

    peak, raised = peak_while(
        lambda: resolve_value(["{{ trigger.rows }}"] * 1000, scope, budget=body_budget())
    )

    assert isinstance(raised, ResolvedTooLarge)
    assert "body[2] ({{ trigger.rows }})" in str(raised)
    # One serialisation (the C encoder's pieces, then the text): less than the value itself.
    assert peak < footprint(rows)


def test_a_value_met_again_is_counted_again() -> None:
    scope = scope_of({"a": "y" * 100_000})
    budget = body_budget()
    resolve_value(["{{ trigger.a }}"] * 10, scope, budget=budget)  # about 1,000,000 bytes
    assert budget.used == compact_size(["y" * 100_000] * 10)
    with pytest.raises(ResolvedTooLarge):
        resolve_value(["{{ trigger.a }}"] * 11, scope, budget=body_budget())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8")),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)
templates = st.recursive(
    st.sampled_from(
        ["{{ trigger.v }}", "a {{ trigger.s }} b", '"\\é{{ trigger.n }}{{ trigger.s }}', "plain"]
    )
    | st.integers()
    | st.none(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(body=templates, value=json_values, text=st.text(alphabet=st.characters(codec="utf-8")))
def test_the_budget_counts_exactly_the_bytes_the_request_will_send(
    body: Any, value: Any, text: str
) -> None:
    scope = scope_of({"v": value, "s": text, "n": 7})
    exact = compact_size(resolve_value(body, scope))

    budget = SizeBudget(exact, what="the resolved body")
    resolve_value(body, scope, budget=budget)
    assert budget.used == exact
    assert json_size(value, 10**9) == compact_size(value)
    if exact > 0:
        with pytest.raises(ResolvedTooLarge):
            resolve_value(body, scope, budget=SizeBudget(exact - 1, what="the resolved body"))


def test_a_url_stops_at_its_limit_before_encoding_a_long_value() -> None:
    scope = scope_of({"q": "é" * 1_000_000})
    budget = SizeBudget(8192, what="the resolved URL", unit="characters")

    peak, raised = peak_while(
        lambda: resolve_url("https://api.test/x?q={{ trigger.q }}", scope, budget=budget)
    )

    assert isinstance(raised, ResolvedTooLarge)
    assert str(raised).startswith("the resolved URL passes 8192 characters at {{ trigger.q }}")
    assert peak < SMALL_PEAK


def test_a_url_counts_its_encoded_length() -> None:
    scope = scope_of({"q": "é" * 100})  # 600 characters once encoded
    url = "https://api.test/?q={{ trigger.q }}"
    resolved = resolve_url(url, scope)
    assert len(resolved) == 620
    resolve_url(url, scope, budget=SizeBudget(620, what="the resolved URL", unit="characters"))
    with pytest.raises(ResolvedTooLarge):
        resolve_url(url, scope, budget=SizeBudget(619, what="the resolved URL", unit="characters"))


def test_a_header_value_stops_at_its_limit() -> None:
    scope = scope_of({"a": BIG})
    budget = SizeBudget(8192, what="header X-A: the resolved value", unit="characters")
    with pytest.raises(ResolvedTooLarge, match="header X-A: the resolved value passes 8192"):
        resolve_text("t {{ trigger.a }}", scope, budget=budget)
    fits = SizeBudget(8192, what="header X-A: the resolved value", unit="characters")
    assert resolve_text("{{ trigger.a }}", scope_of({"a": "z" * 8192}), budget=fits) == "z" * 8192


def test_without_a_budget_resolution_is_unchanged() -> None:
    assert resolve_value(["{{ trigger.a }}"] * 3, scope_of({"a": BIG})) == [BIG] * 3


async def test_a_step_whose_body_blows_up_records_a_clear_final_error_and_sends_nothing() -> None:
    document = {
        "name": "blow-up",
        "steps": [
            {
                "id": "a",
                "action": "make_https_request",
                "url": "https://api.test/x",
                "body": BLOW_UP,
                "retry_intervals": [1, 1],
            }
        ],
    }
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    transport = MockTransport(lambda _: InboundResponse(status=200, headers=(), body=b"{}"))
    run_id = await start_run(store, validate_workflow(document), {"a": BIG}, clock=clock)
    executor = StepExecutor(store=store, transport=transport, clock=clock)

    record = await run_attached(store, executor, run_id, clock=clock)

    assert record.status == "failed"
    assert transport.requests == []
    [attempt] = record.steps[0].attempts
    assert record.steps[0].error == {
        "type": "request_too_large",
        "message": "the resolved body passes 1048576 bytes at body[20] ({{ trigger.a }}); "
        "resolution stopped there",
    }
    assert attempt.error == record.steps[0].error
