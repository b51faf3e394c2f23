"""Test one step before publishing: one real attempt, no retries, nothing stored.

The attempt runs exactly as a worker's would (same resolution, signing, guard,
cap and timeout), against sample trigger data and sample outputs of earlier
steps. Its request is returned as recorded: secrets redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callout.http import Transport
from callout.model.clock import Clock
from callout.model.ids import new_id
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.tokens import TokenSource
from callout.steps.validation import ValidWorkflow
from callout.templates import Scope

TEST_RUN_ID = "wfr_test"
"""The run id a step test's references (`{{ run.id }}`) see: no run is recorded."""


async def run_step_test(  # noqa: PLR0913 - the attempt's whole input
    workflow: ValidWorkflow,
    step_id: str,
    *,
    trigger: Any,
    outputs: Mapping[str, Mapping[str, Any]],
    secrets: Mapping[str, str],
    previous_secrets: Mapping[str, str],
    transport: Transport,
    clock: Clock,
    tokens: TokenSource | None = None,
) -> AttemptResult:
    """Make one attempt of `step_id`; raises KeyError when the workflow has no such step.

    `tokens` is the organization's token source (`AccessTokens.for_organization`): a
    tested step shares the workers' OAuth2 tokens.
    """
    checked = next((step for step in workflow.steps if step.id == step_id), None)
    if checked is None:
        raise KeyError(step_id)
    scope = Scope(
        trigger=trigger,
        steps=outputs,
        secrets=secrets,
        run={"id": TEST_RUN_ID},
        previous_secrets=previous_secrets,
    )
    context = AttemptContext(
        transport=transport,
        clock=clock,
        run_id=TEST_RUN_ID,
        step_run_id=new_id("stp", now=clock.now()),
        attempt_number=1,
        tokens=tokens,
    )
    return await checked.action.attempt(checked.config, scope, context)
