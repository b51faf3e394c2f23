"""What a run leaves behind: statuses, attempts, step runs and the run itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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


class Decision(StrEnum):
    """What an attempt's end means for its step run."""

    SUCCEEDED = "succeeded"
    RETRY = "retry"
    ERRORED_CONTINUE = "errored_continue"
    ERRORED_FAIL = "errored_fail"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as sent, with every secret value replaced by `[redacted]`.

    `body` may be cut for the attempt log (`body_truncated`); the request sent was whole.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str
    body_truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form used in reports (`body_truncated` only when the body was cut)."""
        out: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "headers": [[k, v] for k, v in self.headers],
            "body": self.body,
        }
        if self.body_truncated:
            out["body_truncated"] = True
        return out


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
    """Why a step (or an attempt) failed: the `error` output later steps may reference.

    `body_truncated`: `body` is the first part of the response's text, not the whole body
    (docs/attempts.md, "What a step keeps").
    """

    type: str
    message: str
    status: int | None = None
    body: Any = None
    body_truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the `error` output: `type`, `message`, and `status`/`body` of a response."""
        out: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.status is not None:
            out["status"] = self.status
            out["body"] = self.body
            if self.body_truncated:
                out["body_truncated"] = True
        return out
