"""A run as a report: the `--json` of `callout run` and `callout runs show`, and the run API."""

from __future__ import annotations

from typing import Any

from callout.model.timestamps import iso_utc
from callout.store.protocol import StoredAttempt, StoredRun, StoredStepRun
from callout.store.run_reading import RunView


def attempt_report(attempt: StoredAttempt) -> dict[str, Any]:
    """Report one attempt: number, times, outcome, HTTP status, error, request, response."""
    out: dict[str, Any] = {
        "number": attempt.number,
        "started_at": iso_utc(attempt.started_at),
        "duration_ms": (
            max(0, round((attempt.ended_at - attempt.started_at) * 1000))
            if attempt.ended_at is not None
            else None
        ),
        "outcome": attempt.status,
    }
    if attempt.http_status is not None:
        out["status"] = attempt.http_status
    if attempt.error is not None:
        out["error"] = attempt.error
    if attempt.next_attempt_at is not None:
        out["next_attempt_at"] = iso_utc(attempt.next_attempt_at)
    if attempt.request is not None:
        out["request"] = attempt.request
    if attempt.response is not None:
        out["response"] = attempt.response
    return out


def step_report(step: StoredStepRun) -> dict[str, Any]:
    """Report one step run with its attempts, output and error."""
    out: dict[str, Any] = {
        "id": step.step_id,
        "step_run_id": step.id,
        "status": step.status,
        "attempts": [attempt_report(a) for a in step.attempts],
    }
    if step.resumed_from is not None:
        out["resumed_from"] = step.resumed_from
    if step.status == "waiting" and step.due_at is not None:
        out["next_attempt_at"] = iso_utc(step.due_at)
    if step.status == "pending" and step.wait_reason is not None:
        out["wait_reason"] = step.wait_reason  # held back by delivery control (a limit, a pause)
    if step.output is not None:
        out["output"] = step.output
    if step.error is not None:
        out["error"] = step.error
    return out


def run_report(run: StoredRun) -> dict[str, Any]:
    """Report a run: its id, workflow, status, times and every step run."""
    return {
        "run_id": run.id,
        "workflow": run.workflow_name,
        "status": run.status,
        "created_at": iso_utc(run.created_at),
        "finished_at": iso_utc(run.finished_at) if run.finished_at is not None else None,
        "steps": [step_report(s) for s in run.steps],
    }


def run_view_report(view: RunView) -> dict[str, Any]:
    """Report a run view (`GET /v1/runs/{id}`): every step run, its latest attempts.

    Each step says how many attempts it made (`attempts_total`); the trigger says
    whether it is cut (`trigger_truncated`). Bodies and values are cut as
    `store/run_view_pieces.py` explains.
    """
    report = run_report(view.run)
    for step, out in zip(view.run.steps, report["steps"], strict=True):
        out["attempts_total"] = view.attempts_total.get(step.id, len(step.attempts))
    report["trigger"] = view.run.trigger
    report["trigger_truncated"] = view.trigger_truncated
    return report


def step_run_report(step: StoredStepRun) -> dict[str, Any]:
    """Report one step run whole: every attempt, output and error as recorded."""
    out = step_report(step)
    out["attempts_total"] = len(step.attempts)
    return out
