"""Run a workflow to its end the way `callout run` does: recorded in a store, executed attached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callout.engine.attached import run_attached
from callout.engine.executor import StepExecutor
from callout.engine.starting import start_run
from callout.http import Transport
from callout.model.clock import Clock, ManualClock
from callout.steps.validation import validate_workflow
from callout.store.memory import MemoryStore
from callout.store.protocol import Store, StoredRun


def workflow_of(*steps: dict[str, Any], name: str = "test") -> dict[str, Any]:
    """A workflow document with these steps."""
    return {"name": name, "steps": list(steps)}


async def run_workflow(
    document: dict[str, Any],
    *,
    transport: Transport,
    trigger: Any = None,
    secrets: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    store: Store | None = None,
) -> StoredRun:
    """Record a run of `document` and execute it to its end; return it as recorded.

    The in-memory store keeps time on the same clock (it plays the database's), so
    a manual clock runs a long retry schedule at once.
    """
    clock = clock or ManualClock()
    store = store or MemoryStore(clock=clock)
    workflow = validate_workflow(document)
    run_id = await start_run(store, workflow, trigger if trigger is not None else {}, clock=clock)
    executor = StepExecutor(store=store, transport=transport, secrets=secrets or {}, clock=clock)
    return await run_attached(store, executor, run_id, clock=clock)
