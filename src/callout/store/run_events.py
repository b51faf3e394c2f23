"""Run events: what happened to runs, told to an organization's notification endpoints.

An organization registers endpoints (an HTTPS URL, the event types it wants, a
body format). When a run fails or completes, a step errors, or a host is
paused by the circuit breaker, the event is recorded in the same transaction
as the change that caused it (an outbox: a crash cannot lose it). A worker
then turns each event into one run per subscribed endpoint, in one
transaction with the events it consumes: a run of the organization's system
workflow (`SYSTEM_WORKFLOW_NAME`), one Make HTTPS Request step signed with the
endpoint's signing secret and retried on the step's schedule. Runs of the
system workflow raise no events themselves. See docs/run-events.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from callout.store.protocol import NewRun


class EventType(StrEnum):
    """What an endpoint can be told of."""

    RUN_FAILED = "run.failed"
    RUN_COMPLETED = "run.completed"
    STEP_ERRORED = "step.errored"
    HOST_PAUSED = "host.paused"


class EndpointFormat(StrEnum):
    """The body an endpoint receives."""

    CALLOUT = "callout"  # the event as JSON (docs/run-events.md)
    SLACK = "slack"  # {"text": ...}: a Slack-compatible incoming-webhook body


SYSTEM_WORKFLOW_NAME = "callout: run events"
"""The name of each organization's system workflow; its runs are the notifications."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A notification endpoint as recorded (its signing secret is an encrypted org secret)."""

    id: str
    org_id: str
    name: str
    url: str
    events: tuple[EventType, ...]
    body_format: EndpointFormat
    enabled: bool
    secret_name: str
    """The organization secret its requests are signed with."""
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class RunEvent:
    """An event waiting to be delivered (the outbox row)."""

    id: str
    org_id: str
    type: EventType
    created_at: float
    run_id: str | None = None
    workflow_id: str | None = None
    workflow_name: str | None = None
    step_id: str | None = None
    error: dict[str, Any] | None = None
    host: str | None = None
    detail: dict[str, Any] | None = None
    """Anything else the type carries (a paused host's next probe time, say)."""


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    """What an update changes (None: unchanged)."""

    name: str | None = None
    url: str | None = None
    events: tuple[EventType, ...] | None = None
    body_format: EndpointFormat | None = None
    enabled: bool | None = None


NotificationRun = Callable[[RunEvent, Endpoint], NewRun]
"""Builds the system workflow's run that tells one endpoint of one event (engine side)."""


class RunEventRecords(Protocol):
    """Endpoints, and the outbox of events; the same rules on SQL and in memory."""

    async def list_endpoints(self, *, org_id: str) -> list[Endpoint]:
        """Return an organization's endpoints, by name."""
        ...

    async def get_endpoint(self, *, org_id: str, endpoint_id: str) -> Endpoint:
        """Return one endpoint; NotFoundError when the organization has no such endpoint."""
        ...

    async def create_endpoint(  # noqa: PLR0913 - what an endpoint is
        self,
        *,
        org_id: str,
        name: str,
        url: str,
        events: tuple[EventType, ...],
        body_format: EndpointFormat,
        secret_name: str,
    ) -> Endpoint:
        """Record an endpoint (enabled); ConflictError when the name is taken."""
        ...

    async def update_endpoint(
        self, *, org_id: str, endpoint_id: str, changes: EndpointChanges
    ) -> Endpoint:
        """Change an endpoint; NotFoundError, or ConflictError for a taken name."""
        ...

    async def delete_endpoint(self, *, org_id: str, endpoint_id: str) -> None:
        """Remove an endpoint (its runs stay); NotFoundError when there is none."""
        ...

    async def system_workflow_id(self, *, org_id: str) -> str:
        """Return the id of the organization's system workflow, recording it the first time."""
        ...

    async def wanted_events(self, *, org_id: str) -> frozenset[EventType]:
        """Return the event types some enabled endpoint of the organization wants.

        The engine reads this at most once a second per organization and passes the
        answer with each result (`FinishedAttempt.events`): an event nobody wants is
        not recorded.
        """
        ...

    async def dispatch(self, *, limit: int, build: NotificationRun) -> int:
        """Turn up to `limit` recorded events into runs, one per subscribed enabled endpoint.

        One transaction: the runs are created and the events removed together (on
        PostgreSQL, rows other workers hold are skipped). Returns the events consumed.
        """
        ...
