"""Start a run, or resume a failed one: both are rows in the store, due at once."""

from __future__ import annotations

from typing import Any

from callout.model.clock import Clock
from callout.model.ids import new_id
from callout.steps.validation import ValidWorkflow
from callout.store.protocol import NewRun, Store


def new_run(  # noqa: PLR0913 - the run and the three ids it belongs to
    workflow: ValidWorkflow,
    trigger: Any,
    *,
    now: float,
    org_id: str | None = None,
    workflow_id: str | None = None,
    version_id: str | None = None,
) -> NewRun:
    """Describe a run of `workflow`, pinned to its document (and version, when stored)."""
    return NewRun(
        id=new_id("wfr", now=now),
        workflow_name=workflow.name,
        document=workflow.source,
        trigger=trigger,
        step_ids=tuple(step.id for step in workflow.steps),
        step_run_ids=tuple(new_id("stp", now=now) for _ in workflow.steps),
        step_timeouts=tuple(step.policy.timeout for step in workflow.steps),
        org_id=org_id,
        workflow_id=workflow_id,
        version_id=version_id,
    )


async def start_run(store: Store, workflow: ValidWorkflow, trigger: Any, *, clock: Clock) -> str:
    """Record a run of `workflow`, pinned to its document; return the run id once durable.

    `clock` only orders the new ids; the run's times are the store's (the database's).
    """
    run = new_run(workflow, trigger, now=clock.now())
    await store.create_run(run)
    return run.id


async def resume_run(store: Store, run_id: str, *, clock: Clock) -> str:
    """Resume a failed run from its failed step; return the new step run's id (its new key).

    A receiver that cached its answer to the old idempotency key would replay
    it, so the resumed step run gets a new one. `clock` only orders the new id.
    """
    step_run_id = new_id("stp", now=clock.now())
    await store.resume(run_id, step_run_id=step_run_id)
    return step_run_id
