"""`WorkflowRecords` in memory (unit tests), passing the same contract tests as SQL.

It keeps the SQL store's rules: at most one draft per workflow, published
versions frozen, lookups scoped to the organization, trigger calls unique per
organization and key. Documents and responses are copied in and out, as a
database would. Times passed in (`now`) are kept as given; the runs a trigger
call starts are recorded in the `MemoryStore` and stamped by its clock.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from callout.model.clock import Clock
from callout.model.ids import new_id
from callout.store.protocol import ConflictError, NewRun, NotFoundError, RunFilter
from callout.store.workflow_records import (
    CallOutcome,
    LastRun,
    RunTarget,
    TriggerCall,
    VersionInfo,
    VersionState,
    WorkflowInfo,
    WorkflowStatus,
    same_document,
    system_workflow_refused,
)

if TYPE_CHECKING:
    from callout.store.memory import MemoryStore


@dataclass
class _WorkflowRow:
    id: str
    org_id: str
    name: str
    created_at: float
    updated_at: float
    live_version_id: str | None = None
    event: str | None = None
    archived_at: float | None = None
    system: bool = False


class MemoryWorkflows:
    """Workflows, versions and trigger calls in memory; trigger calls start runs in `runs`."""

    def __init__(self, runs: MemoryStore, clock: Clock) -> None:
        self._runs = runs
        self._clock = clock
        self._workflows: dict[str, _WorkflowRow] = {}
        self._versions: dict[str, VersionInfo] = {}  # stored with `live` false; set on reading
        self._calls: dict[str, TriggerCall] = {}
        self._keys: dict[tuple[str, str], str] = {}  # (org id, idempotency key) -> call id

    def published_document(self, version_id: str) -> Any | None:
        """Return a version's document (a copy), or None for an unknown version."""
        version = self._versions.get(version_id)
        return copy.deepcopy(version.document) if version is not None else None

    def _row(self, org_id: str, workflow_id: str) -> _WorkflowRow:
        row = self._workflows.get(workflow_id)
        if row is None or row.org_id != org_id:
            raise NotFoundError(f"no workflow {workflow_id}")
        return row

    def _editable(self, org_id: str, workflow_id: str) -> _WorkflowRow:
        row = self._row(org_id, workflow_id)
        if row.system:
            raise system_workflow_refused(workflow_id)
        return row

    def system_workflow(self, org_id: str, *, name: str, now: float) -> str:
        """Return the organization's system workflow (run events), recording it the first time.

        A row of no version, marked `system` (`memory_run_events.py`).
        """
        for row in sorted(self._workflows.values(), key=lambda row: row.id):
            if row.org_id == org_id and row.system:
                return row.id
        row = _WorkflowRow(
            id=new_id("wfl", now=now),
            org_id=org_id,
            name=name,
            created_at=now,
            updated_at=now,
            system=True,
        )
        self._workflows[row.id] = row
        return row.id

    def is_system(self, workflow_id: str) -> bool:
        """Say whether a workflow is an organization's system workflow."""
        row = self._workflows.get(workflow_id)
        return row is not None and row.system

    def _versions_of(self, workflow_id: str) -> list[VersionInfo]:
        return sorted(
            (v for v in self._versions.values() if v.workflow_id == workflow_id),
            key=lambda v: v.number,
        )

    def _draft(self, workflow_id: str) -> VersionInfo | None:
        return next(
            (v for v in self._versions_of(workflow_id) if v.state is VersionState.DRAFT), None
        )

    def _shown(self, version: VersionInfo, row: _WorkflowRow, *, document: bool) -> VersionInfo:
        return replace(
            version,
            live=version.id == row.live_version_id,
            document=copy.deepcopy(version.document) if document else None,
        )

    async def _last_run(self, workflow_id: str) -> LastRun | None:
        newest = await self._runs.list_runs(where=RunFilter(workflow_id=workflow_id), limit=1)
        return LastRun(newest[0].id, newest[0].status, newest[0].created_at) if newest else None

    def _info(self, row: _WorkflowRow, last_run: LastRun | None = None) -> WorkflowInfo:
        live = self._versions.get(row.live_version_id) if row.live_version_id else None
        draft = self._draft(row.id)
        if row.archived_at is not None:
            status = WorkflowStatus.ARCHIVED
        elif live is not None:
            status = WorkflowStatus.PUBLISHED
        else:
            status = WorkflowStatus.DRAFT
        return WorkflowInfo(
            id=row.id,
            org_id=row.org_id,
            name=row.name,
            status=status,
            event=row.event,
            live_version_id=live.id if live else None,
            live_version_number=live.number if live else None,
            draft_version_id=draft.id if draft else None,
            draft_version_number=draft.number if draft else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            archived_at=row.archived_at,
            last_run=last_run,
            system=row.system,
        )

    async def _described(self, row: _WorkflowRow) -> WorkflowInfo:
        return self._info(row, await self._last_run(row.id))

    async def create_workflow(
        self, *, org_id: str, name: str, document: Any, by: str | None, now: float
    ) -> WorkflowInfo:
        """Create a workflow whose version 1 is a draft of `document`."""
        row = _WorkflowRow(
            id=new_id("wfl", now=now), org_id=org_id, name=name, created_at=now, updated_at=now
        )
        self._workflows[row.id] = row
        self._new_draft(row.id, 1, document, by, now)
        return await self._described(row)

    def _new_draft(
        self, workflow_id: str, number: int, document: Any, by: str | None, now: float
    ) -> VersionInfo:
        version = VersionInfo(
            id=new_id("wflv", now=now),
            workflow_id=workflow_id,
            number=number,
            state=VersionState.DRAFT,
            live=False,
            created_at=now,
            created_by=by,
            updated_at=now,
            updated_by=by,
            published_at=None,
            published_by=None,
            document=copy.deepcopy(document),
        )
        self._versions[version.id] = version
        return version

    async def get_workflow(self, *, org_id: str, workflow_id: str) -> WorkflowInfo:
        """Return one workflow with its newest run. Raises NotFoundError."""
        return await self._described(self._row(org_id, workflow_id))

    async def list_workflows(
        self,
        *,
        org_id: str,
        status: WorkflowStatus | None = None,
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[WorkflowInfo]:
        """Return an organization's workflows, newest first (by id); `before_id` pages on."""
        rows = sorted(
            (
                row
                for row in self._workflows.values()
                if row.org_id == org_id and (before_id is None or row.id < before_id)
            ),
            key=lambda row: row.id,
            reverse=True,
        )
        found = [
            info
            for info in (self._info(row) for row in rows)
            if status is None or info.status is status
        ][:limit]
        return [replace(info, last_run=await self._last_run(info.id)) for info in found]

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
        row = self._editable(org_id, workflow_id)
        draft = self._draft(workflow_id)
        if draft is not None:
            draft = replace(draft, document=copy.deepcopy(document), updated_at=now, updated_by=by)
            self._versions[draft.id] = draft
        else:
            number = max((v.number for v in self._versions_of(workflow_id)), default=0) + 1
            draft = self._new_draft(workflow_id, number, document, by, now)
        row.name, row.updated_at = name, now
        return self._shown(draft, row, document=True)

    async def get_version(self, *, org_id: str, workflow_id: str, version_id: str) -> VersionInfo:
        """Return a version with its document; `version_id` may be `draft` or `live`."""
        row = self._row(org_id, workflow_id)
        if version_id == "draft":
            found = self._draft(workflow_id)
        elif version_id == "live":
            found = self._versions.get(row.live_version_id) if row.live_version_id else None
        else:
            found = self._versions.get(version_id)
            if found is not None and found.workflow_id != workflow_id:
                found = None
        if found is None:
            what = {"draft": "no draft", "live": "no live version"}.get(
                version_id, f"no version {version_id}"
            )
            raise NotFoundError(f"workflow {workflow_id} has {what}")
        return self._shown(found, row, document=True)

    async def list_versions(self, *, org_id: str, workflow_id: str) -> list[VersionInfo]:
        """Return a workflow's versions, newest first, without documents."""
        row = self._row(org_id, workflow_id)
        return [
            self._shown(v, row, document=False) for v in reversed(self._versions_of(workflow_id))
        ]

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
        row = self._editable(org_id, workflow_id)
        if row.archived_at is not None:
            raise ConflictError(f"workflow {workflow_id} is archived; unarchive it to publish")
        draft = self._draft(workflow_id)
        if draft is None:
            raise NotFoundError(f"workflow {workflow_id} has no draft")
        if draft.id != draft_id or not same_document(draft.document, checked):
            raise ConflictError(
                f"the draft of workflow {workflow_id} was saved while it was being checked; "
                "publish again"
            )
        published = replace(draft, state=VersionState.PUBLISHED, published_at=now, published_by=by)
        self._versions[draft.id] = published
        row.live_version_id, row.event, row.updated_at = draft.id, event, now
        return self._shown(published, row, document=True)

    async def set_archived(
        self, *, org_id: str, workflow_id: str, archived: bool, now: float
    ) -> WorkflowInfo:
        """Archive a workflow (it starts no runs) or bring it back. Idempotent."""
        row = self._editable(org_id, workflow_id)
        if (row.archived_at is not None) != archived:
            row.archived_at, row.updated_at = (now if archived else None), now
        return await self._described(row)

    def _subscribed(self, org_id: str, event: str) -> list[_WorkflowRow]:
        return sorted(
            (
                row
                for row in self._workflows.values()
                if row.org_id == org_id
                and row.event == event
                and row.archived_at is None
                and row.live_version_id is not None
            ),
            key=lambda row: row.id,
        )

    async def subscribed_workflows(self, *, org_id: str, event: str) -> list[WorkflowInfo]:
        """Return the unarchived, published workflows whose live version listens to `event`."""
        return [self._info(row) for row in self._subscribed(org_id, event)]

    def _target(self, row: _WorkflowRow) -> RunTarget:
        # As the SQL store reads a target: the draft and the newest run are not read.
        info = replace(self._info(row), draft_version_id=None, draft_version_number=None)
        live = self._versions.get(row.live_version_id) if row.live_version_id else None
        return RunTarget(info, self._shown(live, row, document=True) if live else None)

    def _earlier(self, org_id: str, idempotency_key: str | None) -> TriggerCall | None:
        if idempotency_key is None:
            return None
        call_id = self._keys.get((org_id, idempotency_key))
        return copy.deepcopy(self._calls[call_id]) if call_id is not None else None

    async def trigger_target(
        self, *, org_id: str, workflow_id: str, idempotency_key: str | None
    ) -> TriggerCall | RunTarget:
        """Return the earlier call with this key if any, else the workflow to start."""
        earlier = self._earlier(org_id, idempotency_key)
        return earlier if earlier is not None else self._target(self._row(org_id, workflow_id))

    async def event_targets(
        self, *, org_id: str, event: str, idempotency_key: str | None
    ) -> TriggerCall | list[RunTarget]:
        """Return the earlier call with this key if any, else the workflows to start."""
        earlier = self._earlier(org_id, idempotency_key)
        if earlier is not None:
            return earlier
        return [self._target(row) for row in self._subscribed(org_id, event)]

    async def start_runs(self, call: TriggerCall, runs: Sequence[NewRun]) -> CallOutcome:
        """Record `call` and start `runs`, or replay the call that used its key first."""
        if call.id in self._calls:
            raise ConflictError(f"trigger call {call.id} is recorded already")
        earlier = self._earlier(call.org_id, call.idempotency_key)
        if earlier is not None:
            return CallOutcome(earlier, replayed=True)
        # The key is taken before anything awaits: a racing call with it replays this one.
        self._calls[call.id] = copy.deepcopy(call)
        if call.idempotency_key is not None:
            self._keys[(call.org_id, call.idempotency_key)] = call.id
        for run in runs:
            await self._runs.create_run(run)
        return CallOutcome(call, replayed=False)

    async def list_calls(
        self,
        *,
        org_id: str,
        workflow_id: str | None = None,
        limit: int = 50,
        before_id: str | None = None,
    ) -> list[TriggerCall]:
        """Return an organization's trigger calls, newest first (by id)."""
        found = sorted(
            (
                call
                for call in self._calls.values()
                if call.org_id == org_id
                and (workflow_id is None or call.workflow_id == workflow_id)
                and (before_id is None or call.id < before_id)
            ),
            key=lambda call: call.id,
            reverse=True,
        )
        return [copy.deepcopy(call) for call in found[:limit]]

    def calls_before(self, org_id: str, before: float) -> list[TriggerCall]:
        """Return an organization's trigger calls made before `before`, oldest first.

        For retention (`memory_retention.py`), which walks them as SQL walks the
        `trigger_calls` table: by creation time.
        """
        return sorted(
            (c for c in self._calls.values() if c.org_id == org_id and c.created_at < before),
            key=lambda call: (call.created_at, call.id),
        )

    def forget_calls(self, call_ids: Sequence[str], *, keep_records: bool) -> None:
        """Forget these trigger calls' idempotency keys, and their records unless `keep_records`.

        Retention: a key expires after 24 h, its call's record staying without it; a
        record past the organization's retention goes, with its key.
        """
        for call_id in call_ids:
            call = self._calls.get(call_id)
            if call is None:
                continue
            if call.idempotency_key is not None:
                key = (call.org_id, call.idempotency_key)
                if self._keys.get(key) == call_id:  # a later call may hold the key now
                    del self._keys[key]
            if keep_records:
                self._calls[call_id] = replace(call, idempotency_key=None)
            else:
                del self._calls[call_id]
