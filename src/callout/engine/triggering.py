"""Whether a workflow may start a run now, and the run it would start.

Shared by every way a run is triggered (a workflow's trigger, an event): the
workflow must be unarchived and published, its plan must include its actions,
this process's settings must accept its live version, and the payload must
match the trigger schema. A refusal says which, with every problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callout.engine.plan_gate import PlanError, check_plan
from callout.engine.starting import new_run
from callout.engine.workflow_cache import WorkflowCache
from callout.model.errors import DocumentError, Problem
from callout.model.plans import Plan
from callout.steps.schema import MAX_SCHEMA_PROBLEMS
from callout.store.protocol import NewRun
from callout.store.workflow_records import (
    VersionInfo,
    WorkflowInfo,
    WorkflowStatus,
    system_workflow_refused,
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a workflow does not start: a stable code, a message, and the problems."""

    code: str  # system_workflow | workflow_archived | not_published | plan_lacks_action | ...
    message: str
    problems: tuple[Problem, ...] = ()


def _problem_count(problems: tuple[Problem, ...]) -> str:
    if len(problems) >= MAX_SCHEMA_PROBLEMS:
        return f"the first {MAX_SCHEMA_PROBLEMS} problems listed"
    return f"{len(problems)} problem(s)"


def prepare_run(  # noqa: PLR0913 - the trigger's whole context
    workflow: WorkflowInfo,
    version: VersionInfo | None,
    payload: Any,
    *,
    plan: Plan,
    workflows: WorkflowCache,
    allow_http: bool,
    now: float,
) -> NewRun | Refusal:
    """Return the run `workflow` would start with `payload`, or why it will not."""
    if workflow.system:
        return Refusal("system_workflow", str(system_workflow_refused(workflow.id)))
    if workflow.status is WorkflowStatus.ARCHIVED:
        return Refusal("workflow_archived", f"workflow {workflow.id} is archived")
    if version is None:
        return Refusal("not_published", f"workflow {workflow.id} has no published version")
    try:
        check_plan(version.document, plan)
    except PlanError as exc:
        return Refusal("plan_lacks_action", str(exc), exc.problems)
    try:
        valid = workflows.get(version.document, allow_http=allow_http, version_id=version.id)
    except DocumentError as exc:
        return Refusal(
            "live_version_invalid",
            "the live version is refused by this server's settings; publish a new one",
            exc.problems,
        )
    try:
        valid.check_trigger(payload)
    except DocumentError as exc:
        return Refusal(
            "invalid_payload",
            f"the payload does not match the trigger schema ({_problem_count(exc.problems)})",
            exc.problems,
        )
    return new_run(
        valid,
        payload,
        now=now,
        org_id=workflow.org_id,
        workflow_id=workflow.id,
        version_id=version.id,
    )
