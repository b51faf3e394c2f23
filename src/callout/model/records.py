"""What a run leaves behind: statuses, attempts, step runs and the run itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from callout.model.timestamps import iso_utc


class RunStatus(StrEnum):
    """Where a run stands."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    """Where a step run stands."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    ERRORED = "errored"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class AttemptStatus(StrEnum):
    """How one attempt ended (`sending` until it has)."""

    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as sent, with every secret value replaced by `[redacted]`."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form used in reports."""
        return {
            "method": self.method,
            "url": self.url,
            "headers": [[k, v] for k, v in self.headers],
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """A response as received (body as text, possibly cut for the record)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: str
    body_truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form used in reports."""
        return {
            "status": self.status,
            "headers": [[k, v] for k, v in self.headers],
            "body": self.body,
            "body_truncated": self.body_truncated,
        }


@dataclass(frozen=True, slots=True)
class StepError:
    """Why a step (or an attempt) failed: the `error` output later steps may reference."""

    type: str
    message: str
    status: int | None = None
    body: Any = None

    def to_json(self) -> dict[str, Any]:
        """Return the `error` output: `type`, `message`, and `status`/`body` of a response."""
        out: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.status is not None:
            out["status"] = self.status
            out["body"] = self.body
        return out


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt of a step run, as the attempt log shows it."""

    number: int
    started_at: float
    duration_ms: int
    status: AttemptStatus
    http_status: int | None = None
    error: StepError | None = None
    request: RecordedRequest | None = None
    response: RecordedResponse | None = None
    next_attempt_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form of the report (`status` is the HTTP status where there was one)."""
        out: dict[str, Any] = {
            "number": self.number,
            "started_at": iso_utc(self.started_at),
            "duration_ms": self.duration_ms,
            "outcome": self.status.value,
        }
        if self.http_status is not None:
            out["status"] = self.http_status
        if self.error is not None:
            out["error"] = self.error.to_json()
        if self.next_attempt_at is not None:
            out["next_attempt_at"] = iso_utc(self.next_attempt_at)
        if self.request is not None:
            out["request"] = self.request.to_json()
        if self.response is not None:
            out["response"] = self.response.to_json()
        return out


@dataclass(slots=True)
class StepRunRecord:
    """One step's run: its status, attempts, and output or error."""

    id: str
    step_id: str
    status: StepStatus = StepStatus.PENDING
    attempts: list[AttemptRecord] = field(default_factory=list)
    output: dict[str, Any] | None = None
    error: StepError | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form of the report."""
        out: dict[str, Any] = {
            "id": self.step_id,
            "step_run_id": self.id,
            "status": self.status.value,
            "attempts": [a.to_json() for a in self.attempts],
        }
        if self.output is not None:
            out["output"] = self.output
        if self.error is not None:
            out["error"] = self.error.to_json()
        return out


@dataclass(slots=True)
class RunRecord:
    """A run of a workflow: its status and its step runs in order."""

    id: str
    workflow_name: str
    status: RunStatus = RunStatus.PENDING
    steps: list[StepRunRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the `--json` report."""
        return {
            "run_id": self.id,
            "workflow": self.workflow_name,
            "status": self.status.value,
            "steps": [s.to_json() for s in self.steps],
        }
