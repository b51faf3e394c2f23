"""Run a workflow in this process, start to end: the loop the durable engine will replace.

Each step runs its attempts in order; between attempts it waits on the clock
the interval its retry schedule gives. A failed step either lets the run go on
(`continue_on_error`, its `error` output visible to later steps) or fails the
run, and every later step is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callout.engine.observer import QuietObserver, RunObserver
from callout.engine.retry import DEFAULT_RETRY_AFTER_CAP, RetrySchedule
from callout.http import Transport
from callout.model.clock import Clock, SystemClock
from callout.model.ids import new_id
from callout.model.records import (
    AttemptRecord,
    AttemptStatus,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.validation import CheckedStep, ValidWorkflow
from callout.templates import Scope


@dataclass(slots=True)
class LocalRunner:
    """Executes runs in this process with one transport and one clock."""

    transport: Transport
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    clock: Clock = field(default_factory=SystemClock)
    observer: RunObserver = field(default_factory=QuietObserver)
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP

    async def run(
        self, workflow: ValidWorkflow, trigger: Any, *, run_id: str | None = None
    ) -> RunRecord:
        """Run `workflow` on the `trigger` payload and return its record."""
        run = RunRecord(
            id=run_id or new_id("wfr", now=self.clock.now()),
            workflow_name=workflow.name,
            status=RunStatus.RUNNING,
            steps=[
                StepRunRecord(id=new_id("stp", now=self.clock.now()), step_id=s.id)
                for s in workflow.steps
            ],
        )
        outputs: dict[str, dict[str, Any]] = {}
        for checked, step_run in zip(workflow.steps, run.steps, strict=True):
            if run.status is RunStatus.FAILED:
                step_run.status = StepStatus.SKIPPED
                self.observer.step_finished(run, step_run)
                continue
            await self._run_step(run, checked, step_run, trigger, outputs)
        if run.status is RunStatus.RUNNING:
            run.status = RunStatus.COMPLETED
        self.observer.run_finished(run)
        return run

    async def _run_step(
        self,
        run: RunRecord,
        checked: CheckedStep,
        step_run: StepRunRecord,
        trigger: Any,
        outputs: dict[str, dict[str, Any]],
    ) -> None:
        schedule = RetrySchedule(checked.policy.retry_intervals, self.retry_after_cap)
        step_run.status = StepStatus.RUNNING
        self.observer.step_started(run, step_run)
        number = 1
        while True:
            # Scope is rebuilt per attempt: secrets are resolved at each attempt.
            scope = Scope(trigger=trigger, steps=outputs, secrets=self.secrets, run={"id": run.id})
            context = AttemptContext(
                transport=self.transport,
                clock=self.clock,
                run_id=run.id,
                step_run_id=step_run.id,
                attempt_number=number,
            )
            self.observer.attempt_started(run, step_run, number)
            started = self.clock.now()
            result = await checked.action.attempt(checked.config, scope, context)
            ended = self.clock.now()
            wait = (
                schedule.wait_before_retry(number, result.retry_after)
                if not result.succeeded and result.retryable
                else None
            )
            attempt = _record(number, started, ended, result, wait)
            step_run.attempts.append(attempt)
            self.observer.attempt_finished(run, step_run, attempt)
            if result.succeeded:
                step_run.status = StepStatus.SUCCEEDED
                step_run.output = result.output
                outputs[checked.id] = result.output or {}
                break
            if wait is None:
                self._fail_step(run, checked, step_run, result, outputs)
                break
            step_run.status = StepStatus.WAITING
            self.observer.waiting(run, step_run, ended + wait)
            await self.clock.sleep(wait)
            step_run.status = StepStatus.RUNNING
            number += 1
        self.observer.step_finished(run, step_run)

    def _fail_step(
        self,
        run: RunRecord,
        checked: CheckedStep,
        step_run: StepRunRecord,
        result: AttemptResult,
        outputs: dict[str, dict[str, Any]],
    ) -> None:
        step_run.status = StepStatus.ERRORED
        step_run.error = result.error
        if not checked.policy.continue_on_error:
            run.status = RunStatus.FAILED
            return
        error = result.error
        output: dict[str, Any] = {
            "status": error.status if error else None,
            "headers": {},
            "body": error.body if error else None,
            "error": error.to_json() if error else {},
        }
        step_run.output = output
        outputs[checked.id] = output


def _record(
    number: int, started: float, ended: float, result: AttemptResult, wait: float | None
) -> AttemptRecord:
    return AttemptRecord(
        number=number,
        started_at=started,
        duration_ms=max(0, round((ended - started) * 1000)),
        status=AttemptStatus.SUCCEEDED if result.succeeded else AttemptStatus.FAILED,
        http_status=result.response.status if result.response else None,
        error=result.error,
        request=result.request,
        response=result.response,
        next_attempt_at=ended + wait if wait is not None else None,
    )
