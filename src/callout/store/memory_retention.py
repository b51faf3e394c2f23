"""`RetentionRecords` in memory (unit tests), passing the same contract tests as SQL.

It prunes what the SQL store prunes, in the same order and batches, from the
memory store's own records: its runs and step runs (`MemoryStore`), and its
trigger calls (`MemoryWorkflows`), through the few methods each offers for it
(as SQL shares its tables).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from callout.model.clock import Clock
from callout.store.retention import (
    DAY,
    FINISHED_RUN,
    NO_ORGANIZATION_SCOPE,
    TRIGGER_KEY_LIFETIME,
    PruneBatch,
    PruneCount,
    PruneKind,
    Retention,
    RetentionScope,
    RunPosition,
    moved_mark,
)

if TYPE_CHECKING:
    from callout.store.memory import MemoryStore
    from callout.store.protocol import StoredRun
    from callout.store.workflow_records import TriggerCall


@dataclass(slots=True)
class _Marks:
    bodies_removed_before: float | None = None
    keys_expired_before: float | None = None


@dataclass(slots=True)
class _Lease:
    holder: str | None = None
    expires_at: float | None = None
    finished_at: float | None = None


def _blanked(record: Any, keys: tuple[str, ...], value: Any) -> Any:
    """Return a copy of `record` with its body at `keys` blanked and marked, if it has one."""
    if not isinstance(record, dict):
        return record
    head, *rest = keys
    if rest:
        inner = record.get(head)
        return record if inner is None else {**record, head: _blanked(inner, tuple(rest), value)}
    if head not in record:
        return record
    return {**record, head: value, "body_removed": True}


class MemoryRetention:
    """Retention settings and pruning in memory."""

    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock  # the database's clock: cutoffs and the lease are measured by it
        self._settings: dict[str, Retention] = {}
        self._marks: dict[str, _Marks] = {}
        self._lease = _Lease()

    async def get_retention(self, *, org_id: str) -> Retention:
        """Return an organization's setting. Raises NotFoundError."""
        await self._store.accounts.get_organization(org_id=org_id)
        return self._settings.get(org_id, Retention())

    async def set_retention(self, *, org_id: str, retention: Retention, now: float) -> Retention:
        """Replace an organization's setting. Raises NotFoundError."""
        await self._store.accounts.get_organization(org_id=org_id)
        self._settings[org_id] = retention
        return retention

    async def scopes(self) -> list[RetentionScope]:
        """Return every organization with its setting, then the runs of no organization."""
        found = [
            RetentionScope(org.id, org.name, self._settings.get(org.id, Retention()))
            for org in await self._store.accounts.list_organizations()
        ]
        return [*found, NO_ORGANIZATION_SCOPE]

    def _runs_of(self, scope: RetentionScope, before: float) -> list[StoredRun]:
        return self._store.runs_before(scope.org_id, before)

    def _calls_of(self, org_id: str, before: float) -> list[TriggerCall]:
        return self._store.workflows.calls_before(org_id, before)

    async def prunable(self, scope: RetentionScope) -> PruneCount:
        """Count what a pass would remove of `scope` now."""
        now = self._clock.now()
        cutoff = now - scope.retention.run_days * DAY
        old = self._runs_of(scope, cutoff)
        finished = [run for run in old if run.status in FINISHED_RUN]
        count = PruneCount(
            org_id=scope.org_id,
            name=scope.name,
            runs=len(finished),
            attempts=sum(
                len(row.attempts) for row in self._store.step_rows({run.id for run in finished})
            ),
            kept_unfinished=len(old) - len(finished),
        )
        if scope.org_id is None:
            return count
        marks = self._marks.get(scope.org_id, _Marks())
        bodies = 0
        if scope.retention.removes_bodies_early:
            start = max(cutoff, marks.bodies_removed_before or cutoff)
            bodies = sum(
                1
                for run in self._runs_of(scope, now - scope.retention.bodies_days * DAY)
                if run.created_at >= start
                and run.status in FINISHED_RUN
                and run.bodies_removed_at is None
            )
        keys_start = max(cutoff, marks.keys_expired_before or cutoff)
        return replace(
            count,
            bodies=bodies,
            trigger_calls=len(self._calls_of(scope.org_id, cutoff)),
            trigger_keys=sum(
                1
                for call in self._calls_of(scope.org_id, now - TRIGGER_KEY_LIFETIME)
                if call.idempotency_key is not None and call.created_at >= keys_start
            ),
        )

    async def prune_batch(
        self,
        scope: RetentionScope,
        kind: PruneKind,
        *,
        limit: int,
        after: RunPosition | None = None,
    ) -> PruneBatch:
        """Remove at most `limit` rows of `kind` from `scope`."""
        if kind is PruneKind.RUNS:
            return self._delete_runs(scope, limit=limit, after=after)
        if scope.org_id is None:
            return PruneBatch(0)
        if kind is PruneKind.TRIGGER_CALLS:
            return self._delete_calls(scope.org_id, scope.retention, limit=limit)
        if kind is PruneKind.BODIES:
            return self._remove_bodies(scope, limit=limit)
        return self._expire_keys(scope.org_id, limit=limit)

    def _delete_runs(
        self, scope: RetentionScope, *, limit: int, after: RunPosition | None
    ) -> PruneBatch:
        cutoff = self._clock.now() - scope.retention.run_days * DAY
        chosen = [
            run
            for run in self._runs_of(scope, cutoff)
            if run.status in FINISHED_RUN and (after is None or run.created_at >= after)
        ][:limit]
        ids = {run.id for run in chosen}
        removed_attempts = self._store.delete_runs(ids)
        last = chosen[-1].created_at if chosen else None
        return PruneBatch(len(ids), removed_attempts, last, more=len(chosen) == limit)

    def _delete_calls(self, org_id: str, retention: Retention, *, limit: int) -> PruneBatch:
        cutoff = self._clock.now() - retention.run_days * DAY
        chosen = self._calls_of(org_id, cutoff)[:limit]
        self._store.workflows.forget_calls([call.id for call in chosen], keep_records=False)
        return PruneBatch(len(chosen), more=len(chosen) == limit)

    def _remove_bodies(self, scope: RetentionScope, *, limit: int) -> PruneBatch:
        if scope.org_id is None or not scope.retention.removes_bodies_early:
            return PruneBatch(0)
        now = self._clock.now()
        cutoff = now - scope.retention.bodies_days * DAY
        marks = self._marks.setdefault(scope.org_id, _Marks())
        mark = marks.bodies_removed_before
        chosen = [
            run
            for run in self._runs_of(scope, cutoff)
            if run.status in FINISHED_RUN
            and run.bodies_removed_at is None
            and (mark is None or run.created_at >= mark)
        ][:limit]
        for run in chosen:
            self._remove_bodies_of(run.id)
        created = [run.created_at for run in chosen]
        moved = moved_mark(created, limit=limit, cutoff=cutoff, mark=mark)
        if moved is not None:
            marks.bodies_removed_before = moved
        return PruneBatch(len(chosen), more=len(chosen) == limit)

    def _remove_bodies_of(self, run_id: str) -> None:
        self._store.drop_trigger(run_id)
        for row in self._store.step_rows({run_id}):
            output = _blanked(row.output, ("body",), None)
            row.output = _blanked(output, ("error", "body"), None)
            row.error = _blanked(row.error, ("body",), None)
            row.attempts = [
                replace(
                    attempt,
                    request=_blanked(attempt.request, ("body",), ""),
                    response=_blanked(attempt.response, ("body",), ""),
                    error=_blanked(attempt.error, ("body",), None),
                )
                for attempt in row.attempts
            ]

    def _expire_keys(self, org_id: str, *, limit: int) -> PruneBatch:
        cutoff = self._clock.now() - TRIGGER_KEY_LIFETIME
        marks = self._marks.setdefault(org_id, _Marks())
        mark = marks.keys_expired_before
        chosen = [
            call
            for call in self._calls_of(org_id, cutoff)
            if call.idempotency_key is not None and (mark is None or call.created_at >= mark)
        ][:limit]
        self._store.workflows.forget_calls([call.id for call in chosen], keep_records=True)
        created = [call.created_at for call in chosen]
        moved = moved_mark(created, limit=limit, cutoff=cutoff, mark=mark)
        if moved is not None:
            marks.keys_expired_before = moved
        return PruneBatch(len(chosen), more=len(chosen) == limit)

    async def take_prune_lease(self, holder: str, *, hold_for: float, every: float | None) -> bool:
        """Take (or renew) the prune lease, by the store's clock."""
        now, lease = self._clock.now(), self._lease
        free = lease.holder in (None, holder) or lease.expires_at is None or lease.expires_at < now
        due = every is None or lease.finished_at is None or lease.finished_at <= now - every
        if not (free and due):
            return False
        lease.holder, lease.expires_at = holder, now + hold_for
        return True

    async def end_prune_lease(self, holder: str, *, finished: bool) -> None:
        """Give the prune lease back."""
        if self._lease.holder != holder:
            return
        self._lease.holder = self._lease.expires_at = None
        if finished:
            self._lease.finished_at = self._clock.now()
