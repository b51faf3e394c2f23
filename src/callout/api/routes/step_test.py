"""Test a step before publishing: one real attempt against sample data; no run is stored."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.documents import check_size
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.api.routes.runs import RecordedRequestOut, RecordedResponseOut, StepErrorOut
from callout.engine.plan_gate import check_plan
from callout.engine.step_test import run_step_test
from callout.steps.validation import validate_workflow

router = APIRouter(prefix="/v1/workflows", tags=["Workflows"], responses=ERROR_RESPONSES)

WorkflowIdPath = Annotated[str, Path(max_length=64, pattern=r"^wfl_[0-9A-Z]+$")]
StepIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class StepTestIn(BaseModel):
    """Sample data for one attempt."""

    model_config = ConfigDict(extra="forbid")
    trigger: Any = Field(default=None, description="A sample trigger payload")
    steps: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Sample outputs of earlier steps, by step id ({status, headers, body})",
    )
    version: str = Field(
        default="draft",
        max_length=64,
        pattern=r"^(wflv_[0-9A-Z]+|draft|live)$",
        description="Which version's step to test: draft (default), live, or a version id",
    )


class StepTestOut(BaseModel):
    """How the one attempt went: the request as sent (secrets redacted), the response."""

    outcome: str = Field(description="succeeded or failed")
    duration_ms: int
    request: RecordedRequestOut | None
    response: RecordedResponseOut | None
    error: StepErrorOut | None
    retryable: bool = Field(description="Whether a run would have retried this failure")
    output: dict[str, Any] | None = Field(description="What later steps would read")


@router.post("/{workflow_id}/steps/{step_id}/test", summary="Test a step (one real attempt)")
async def test_step(
    workflow_id: WorkflowIdPath,
    step_id: StepIdPath,
    body: StepTestIn,
    caller: CallerDep,
    request: Request,
) -> StepTestOut:
    """Make one real attempt of the step, with no retries; nothing is stored as a run."""
    context = context_of(request)
    check_size(body.model_dump(), "body")
    org_id = caller.org.id
    version = await context.store.workflows.get_version(
        org_id=org_id, workflow_id=workflow_id, version_id=body.version
    )
    check_plan(version.document, caller.org.plan)
    names = await context.store.accounts.secret_names(org_id=org_id)
    # Off the loop: validating a large document takes up to ~1 s of CPU.
    workflow = await asyncio.to_thread(
        validate_workflow, version.document, secrets=names, allow_http=context.allow_http
    )
    if step_id not in {step.id for step in workflow.steps}:
        raise ApiError(404, "not_found", f"version {version.number} has no step {step_id}")
    now = context.clock.now()
    values = await context.store.accounts.secret_values(context.cipher, org_id=org_id, now=now)
    result = await run_step_test(
        workflow,
        step_id,
        trigger=body.trigger,
        outputs=body.steps,
        secrets=values.current,
        previous_secrets=values.previous,
        transport=context.transport,
        clock=context.clock,
        tokens=context.tokens.for_organization(org_id),
    )
    return StepTestOut(
        outcome="succeeded" if result.succeeded else "failed",
        duration_ms=max(0, round((context.clock.now() - now) * 1000)),
        request=(
            RecordedRequestOut.model_validate(result.request.to_json()) if result.request else None
        ),
        response=(
            RecordedResponseOut.model_validate(result.response.to_json())
            if result.response
            else None
        ),
        error=StepErrorOut.model_validate(result.error.to_json()) if result.error else None,
        retryable=result.retryable,
        output=result.output,
    )
