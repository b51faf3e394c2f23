"""`WorkflowRecords` on SQLite or PostgreSQL (through `SqlStore`'s threads and group commit).

Reads run in a reader thread, writes in the shared group commit (each in its own
savepoint): the SQL is in `workflows.py` and `trigger_calls.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from callout.store import trigger_calls, workflows
from callout.store.protocol import NewRun
from callout.store.workflow_records import (
    CallOutcome,
    RunTarget,
    TriggerCall,
    VersionInfo,
    WorkflowInfo,
    WorkflowStatus,
)

if TYPE_CHECKING:
    from callout.store.sql_store import SqlStore


class SqlWorkflows:
    """Workflows, versions and trigger calls in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def create_workflow(
        self, *, org_id: str, name: str, document: Any, by: str | None, now: float
    ) -> WorkflowInfo:
        """Create a workflow whose version 1 is a draft of `document`."""
        return await self._store.write(
            workflows.create_workflow, org_id=org_id, name=name, document=document, by=by, now=now
        )

    async def get_workflow(self, *, org_id: str, workflow_id: str) -> WorkflowInfo:
        """Return one workflow with its newest run. Raises NotFoundError."""
        return await self._store.read(
            workflows.get_workflow, org_id=org_id, workflow_id=workflow_id
        )

    async def list_workflows(
        self,
        *,
        org_id: str,
        status: WorkflowStatus | None = None,
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[WorkflowInfo]:
        """Return an organization's workflows, newest first; `before_id` pages on."""
        return await self._store.read(
            workflows.list_workflows,
            org_id=org_id,
            status=status,
            limit=limit,
            before_id=before_id,
        )

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
        return await self._store.write(
            workflows.save_draft,
            org_id=org_id,
            workflow_id=workflow_id,
            name=name,
            document=document,
            by=by,
            now=now,
        )

    async def get_version(self, *, org_id: str, workflow_id: str, version_id: str) -> VersionInfo:
        """Return a version with its document; `version_id` may be `draft` or `live`."""
        return await self._store.read(
            workflows.get_version, org_id=org_id, workflow_id=workflow_id, version_id=version_id
        )

    async def list_versions(self, *, org_id: str, workflow_id: str) -> list[VersionInfo]:
        """Return a workflow's versions, newest first, without documents."""
        return await self._store.read(
            workflows.list_versions, org_id=org_id, workflow_id=workflow_id
        )

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
        """Freeze the draft, still holding the `checked` document, and make it live."""
        return await self._store.write(
            workflows.publish_version,
            org_id=org_id,
            workflow_id=workflow_id,
            draft_id=draft_id,
            checked=checked,
            event=event,
            by=by,
            now=now,
        )

    async def set_archived(
        self, *, org_id: str, workflow_id: str, archived: bool, now: float
    ) -> WorkflowInfo:
        """Archive a workflow (it starts no runs) or bring it back. Idempotent."""
        return await self._store.write(
            workflows.set_archived,
            org_id=org_id,
            workflow_id=workflow_id,
            archived=archived,
            now=now,
        )

    async def subscribed_workflows(self, *, org_id: str, event: str) -> list[WorkflowInfo]:
        """Return the unarchived, published workflows whose live version listens to `event`."""
        return await self._store.read(workflows.subscribed_workflows, org_id=org_id, event=event)

    async def trigger_target(
        self, *, org_id: str, workflow_id: str, idempotency_key: str | None
    ) -> TriggerCall | RunTarget:
        """Return the earlier call with this key if any, else the workflow to start."""
        return await self._store.read(
            trigger_calls.trigger_target,
            org_id=org_id,
            workflow_id=workflow_id,
            idempotency_key=idempotency_key,
        )

    async def event_targets(
        self, *, org_id: str, event: str, idempotency_key: str | None
    ) -> TriggerCall | list[RunTarget]:
        """Return the earlier call with this key if any, else the workflows to start."""
        return await self._store.read(
            trigger_calls.event_targets,
            org_id=org_id,
            event=event,
            idempotency_key=idempotency_key,
        )

    async def start_runs(self, call: TriggerCall, runs: Sequence[NewRun]) -> CallOutcome:
        """Record `call` and start `runs` in one durable commit, or replay the key's call.

        No savepoint: a taken key is no error (`ON CONFLICT DO NOTHING`), so the call
        either writes whole or fails with its whole group commit. The trigger calls of
        one group commit are written together (`write_merged`, `trigger_calls.start_many`).
        """
        return await self._store.write_merged(trigger_calls.start_many, (call, runs))

    async def list_calls(
        self,
        *,
        org_id: str,
        workflow_id: str | None = None,
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[TriggerCall]:
        """Return an organization's trigger calls, newest first."""
        return await self._store.read(
            trigger_calls.list_calls,
            org_id=org_id,
            workflow_id=workflow_id,
            limit=limit,
            before_id=before_id,
        )
