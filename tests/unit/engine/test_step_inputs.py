"""An attempt reads only what its step references, and the run-input cache is bounded by size."""

from __future__ import annotations

from typing import Any

from callout.engine.run_inputs import RunInputCache, estimated_size
from callout.http import InboundResponse, MockTransport, OutboundRequest
from callout.model.clock import ManualClock
from callout.steps.step_references import referenced_steps
from callout.store.memory import MemoryStore
from callout.store.protocol import RunInput
from support.running import run_workflow, workflow_of


def test_referenced_steps_reads_every_value_of_a_config() -> None:
    config = {
        "url": "https://api.test/{{ steps.create.body.id }}/{{ trigger.id }}",
        "headers": [{"key": "X-From", "value": "{{ steps.lookup.headers['x-id'] }}"}],
        "body": {
            "deep": [[{"a": "{{steps.tag.status}}"}]],
            "{{ steps.keys_are_not_templates }}": 1,
            "secret": "{{ secrets.token }}",
            "broken": "{{ steps.unclosed",
            "plain": "steps.not_a_reference",
        },
        "secret": ["{{ secrets.signing }}"],
    }
    assert referenced_steps(config) == {"create", "lookup", "tag"}
    assert referenced_steps({"url": "https://api.test/"}) == frozenset()


class ReadingStore(MemoryStore):
    """The in-memory store, noting which step outputs each attempt asked for."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.asked: list[frozenset[str] | None] = []

    async def outputs(
        self, run_id: str, *, step_ids: frozenset[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        self.asked.append(step_ids)
        return await super().outputs(run_id, step_ids=step_ids)


async def test_an_attempt_reads_only_the_outputs_its_step_references() -> None:
    def answer(request: OutboundRequest) -> InboundResponse:
        body = b'{"id": "%s"}' % request.url.rsplit("/", 1)[1].encode()
        return InboundResponse(200, (("Content-Type", "application/json"),), body)

    transport = MockTransport(answer)
    clock = ManualClock()
    store = ReadingStore(clock=clock)
    step = {"action": "make_https_request", "method": "GET"}
    run = await run_workflow(
        workflow_of(
            step | {"id": "a", "url": "https://api.test/a"},
            step | {"id": "b", "url": "https://api.test/b"},
            step | {"id": "c", "url": "https://api.test/{{ steps.a.body.id }}"},
            step | {"id": "d", "url": "https://api.test/d"},
        ),
        transport=transport,
        clock=clock,
        store=store,
    )
    assert run.status == "completed"
    assert [r.url for r in transport.requests][2] == "https://api.test/a"
    # The first step reads nothing, nor do b and d (they reference nothing); c only a.
    assert store.asked == [frozenset({"a"})]


def run_input(trigger: Any) -> RunInput:
    return RunInput(document={"name": "w", "steps": []}, trigger=trigger)


def test_estimated_size_grows_with_what_a_run_holds() -> None:
    small = estimated_size(run_input({"id": "inq_1"}))
    tiny_objects = estimated_size(run_input([{} for _ in range(10_000)]))
    assert small < 2_000
    assert tiny_objects > 10_000 * 64  # an empty dict alone takes 64 bytes


def test_the_run_input_cache_keeps_runs_within_its_byte_budget() -> None:
    cache = RunInputCache(budget=1_000, largest=400)
    for n in range(5):
        cache.put(f"wfr_{n}", run_input(n), 300)
    # 3 x 300 fit in 1,000: the oldest were dropped first.
    assert [cache.get(f"wfr_{n}") is not None for n in range(5)] == [False, False, True, True, True]
    assert cache.total == 900
    cache.get("wfr_2")  # used: now the newest
    cache.put("wfr_5", run_input(5), 300)
    assert cache.get("wfr_3") is None
    assert cache.get("wfr_2") is not None
    # One too large to keep is never kept: it would push every other run out.
    cache.put("wfr_big", run_input("big"), 401)
    assert cache.get("wfr_big") is None
    assert len(cache) == 3
