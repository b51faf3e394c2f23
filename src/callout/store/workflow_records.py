"""What the service asks of a store about workflows, their versions and trigger calls.

A workflow has at most one draft; publishing freezes it and makes it live. A
version's document never changes once published: editing after a publish
saves a new draft (the next number), and runs are pinned to the version that
was live when they started. A trigger call that asked to start runs is
recorded with what it answered; one made with an `Idempotency-Key` is kept
under that key, and a repeat gets the first answer back.

The records here import no SQLAlchemy: the API and the engine use them and
this protocol only (`SqlWorkflows` and `MemoryWorkflows` implement it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from callout.store.protocol import ConflictError, NewRun


class WorkflowStatus(StrEnum):
    """Where a workflow stands, as lists show it."""

    DRAFT = "draft"  # never published
    PUBLISHED = "published"  # has a live version
    ARCHIVED = "archived"  # starts no runs


class VersionState(StrEnum):
    """A version is a draft until published; then it is frozen."""

    DRAFT = "draft"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A version's history entry; `document` only when asked for."""

    id: str
    workflow_id: str
    number: int
    state: VersionState
    live: bool
    created_at: float
    created_by: str | None
    updated_at: float
    updated_by: str | None
    published_at: float | None
    published_by: str | None
    document: Any = None


@dataclass(frozen=True, slots=True)
class LastRun:
    """The newest run of a workflow, for lists."""

    id: str
    status: str
    created_at: float


@dataclass(frozen=True, slots=True)
class WorkflowInfo:
    """A workflow as lists and pages show it."""

    id: str
    org_id: str
    name: str
    status: WorkflowStatus
    event: str | None
    live_version_id: str | None
    live_version_number: int | None
    draft_version_id: str | None
    draft_version_number: int | None
    created_at: float
    updated_at: float
    archived_at: float | None
    last_run: LastRun | None = None
    system: bool = False
    """callout's own workflow of run events (store/run_events.py): it cannot be edited,
    published, archived or triggered; its runs are the notifications."""


@dataclass(frozen=True, slots=True)
class RunTarget:
    """A workflow a trigger may start, with its live version (None: never published).

    `workflow.draft_version_*` and `workflow.last_run` are not read for a target.
    """

    workflow: WorkflowInfo
    version: VersionInfo | None


@dataclass(frozen=True, slots=True)
class TriggerCall:
    """A trigger call as recorded: what was asked (by its fingerprint) and what it answered.

    Built once by the API and recorded as it is: `response` and `status_code` are
    exactly what the caller was answered.
    """

    id: str
    org_id: str
    workflow_id: str | None
    event: str | None
    idempotency_key: str | None
    fingerprint: str
    status_code: int
    response: Any
    created_at: float


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What `start_runs` did: recorded `call` and started its runs, or replayed an earlier one.

    When `replayed`, `call` is the earlier call with the same key (its fingerprint may
    differ: a different request), and nothing was started or recorded.
    """

    call: TriggerCall
    replayed: bool


def system_workflow_refused(workflow_id: str) -> ConflictError:
    """Return the refusal of a change to an organization's system workflow (409)."""
    return ConflictError(
        f"workflow {workflow_id} is callout's workflow of run events (its runs are the "
        "notifications): it cannot be edited, published, archived or triggered"
    )


def same_document(stored: Any, checked: Any) -> bool:
    """Say whether two documents are the same JSON (`1`, `1.0` and `true` all differ).

    How `publish` tells that the draft still holds the document that was checked.
    """
    return _canonical(stored) == _canonical(checked)


def _canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


class WorkflowRecords(Protocol):
    """Workflows, versions, and trigger calls (which start runs), by intent.

    Lookups are scoped to `org_id`: another organization's workflow is NotFoundError.
    """

    async def create_workflow(
        self, *, org_id: str, name: str, document: Any, by: str | None, now: float
    ) -> WorkflowInfo:
        """Create a workflow whose version 1 is a draft of `document`."""
        ...

    async def get_workflow(self, *, org_id: str, workflow_id: str) -> WorkflowInfo:
        """Return one workflow with its newest run. Raises NotFoundError."""
        ...

    async def list_workflows(
        self,
        *,
        org_id: str,
        status: WorkflowStatus | None = None,
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[WorkflowInfo]:
        """Return an organization's workflows, newest first (by id); `before_id` pages on."""
        ...

    async def save_draft(  # noqa: PLR0913 - the draft and who saved it when
        self,
        *,
        org_id: str,
        workflow_id: str,
        name: str,
        document: Any,
        by: str | None,
        now: float,
    ) -> VersionInfo:
        """Replace the draft's document, or start a new draft (the next number) if none."""
        ...

    async def get_version(self, *, org_id: str, workflow_id: str, version_id: str) -> VersionInfo:
        """Return a version with its document; `version_id` may be `draft` or `live`.

        Raises NotFoundError (no such workflow, or it has no such version).
        """
        ...

    async def list_versions(self, *, org_id: str, workflow_id: str) -> list[VersionInfo]:
        """Return a workflow's versions, newest first, without documents."""
        ...

    async def publish(  # noqa: PLR0913 - the draft as checked, and who published it when
        self,
        *,
        org_id: str,
        workflow_id: str,
        draft_id: str,
        checked: Any,
        event: str | None,
        by: str | None,
        now: float,
    ) -> VersionInfo:
        """Freeze the draft `draft_id` and make it live, listening to `event`.

        `checked` is the document the caller's publish check passed: the draft is
        published only while it still holds exactly that document (same JSON,
        types included). Raises NotFoundError (no workflow, or no draft), or
        ConflictError: the workflow is archived, or the draft was saved or
        published since it was read.
        """
        ...

    async def set_archived(
        self, *, org_id: str, workflow_id: str, archived: bool, now: float
    ) -> WorkflowInfo:
        """Archive a workflow (it starts no runs) or bring it back. Idempotent."""
        ...

    async def subscribed_workflows(self, *, org_id: str, event: str) -> list[WorkflowInfo]:
        """Return the unarchived, published workflows whose live version listens to `event`."""
        ...

    async def trigger_target(
        self, *, org_id: str, workflow_id: str, idempotency_key: str | None
    ) -> TriggerCall | RunTarget:
        """Return the earlier call with this key if there is one, else the workflow to start.

        One read, so a trigger looks its key up once. Raises NotFoundError (no workflow).
        """
        ...

    async def event_targets(
        self, *, org_id: str, event: str, idempotency_key: str | None
    ) -> TriggerCall | list[RunTarget]:
        """Return the earlier call with this key if there is one, else the workflows to start.

        Those are the published, unarchived workflows listening to `event`, oldest first.
        """
        ...

    async def start_runs(self, call: TriggerCall, runs: Sequence[NewRun]) -> CallOutcome:
        """Record `call` and start `runs` together (durable once this returns).

        A call whose key the organization already used (committed earlier, racing in
        another transaction, or earlier in the same commit) records and starts
        nothing: the outcome is that earlier call, `replayed`. The key is not looked
        up first; the unique key decides.
        """
        ...

    async def list_calls(
        self,
        *,
        org_id: str,
        workflow_id: str | None = None,
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[TriggerCall]:
        """Return an organization's trigger calls, newest first (by id)."""
        ...
