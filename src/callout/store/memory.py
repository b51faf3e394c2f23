"""The store in memory, for unit tests of the engine: same protocol, no database.

It follows the SQL store's rules (leases fence every write, expired leases are
taken over, interrupted attempts are counted, every time is the store's own:
its `clock` plays the database's); the store contract tests run it beside
SQLite and PostgreSQL (tests/integration/durable/test_store.py).
"""

from __future__ import annotations

import copy
import secrets
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

from callout.model.clock import Clock, SystemClock
from callout.model.delivery import Deferral
from callout.model.ids import new_id
from callout.model.records import AttemptStatus, Decision, RunStatus, StepStatus
from callout.store.memory_accounts import MemoryAccounts
from callout.store.memory_delivery import MemoryDelivery
from callout.store.memory_outbox import host_paused, result_events
from callout.store.memory_retention import MemoryRetention
from callout.store.memory_run_events import MemoryRunEvents
from callout.store.memory_run_reading import MemoryRunReading
from callout.store.memory_tokens import MemoryAccessTokens
from callout.store.memory_workflows import MemoryWorkflows
from callout.store.protocol import (
    DEFAULT_STEP_TIMEOUT,
    Claim,
    FinishedAttempt,
    LeaseLostError,
    NewRun,
    NotFoundError,
    RunFilter,
    RunInput,
    RunStateError,
    StoredAttempt,
    StoredRun,
    StoredStepRun,
    UnknownRunError,
)
from callout.store.retention import bodies_gone
from callout.store.run_events import EventType, RunEvent


@dataclass
class _StepRow:
    id: str
    run_id: str
    position: int
    step_id: str
    status: str
    created_at: float
    due_at: float | None = None
    lease_token: str | None = None
    attempts_made: int = 0
    interruptions: int = 0
    timeout: float = DEFAULT_STEP_TIMEOUT
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    resumed_from: str | None = None
    attempts: list[StoredAttempt] = field(default_factory=list)
    wait_reason: str | None = None  # held back by delivery control (`defer`): why
    waiting_for: str | None = None  # and for which host
    deferrals: int = 0


class MemoryStore:
    """The `Store` protocol in memory (unit tests only)."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()  # the database's clock, here the store's own
        self._runs: dict[str, StoredRun] = {}
        self._steps: dict[str, _StepRow] = {}
        self._workers: dict[str, float] = {}
        self._accounts = MemoryAccounts(self._clock)
        self._workflows = MemoryWorkflows(self, self._clock)
        self._run_reading = MemoryRunReading(self, self._clock)
        self._retention = MemoryRetention(self, self._clock)
        self._tokens = MemoryAccessTokens(self._clock)
        self._delivery = MemoryDelivery(self, self._clock)
        self._run_events = MemoryRunEvents(self, self._clock)
        self.outbox: list[RunEvent] = []
        """Run events recorded and not yet dispatched (`MemoryRunEvents` consumes them)."""

    async def ping(self, *, within: float) -> None:
        """Answer at once: memory is always reachable."""

    async def close(self) -> None:
        """Nothing to release."""

    @property
    def accounts(self) -> MemoryAccounts:
        """Organizations, API keys, dashboard sessions, secrets."""
        return self._accounts

    @property
    def workflows(self) -> MemoryWorkflows:
        """Workflows, versions, trigger calls."""
        return self._workflows

    @property
    def tokens(self) -> MemoryAccessTokens:
        """OAuth2 access tokens."""
        return self._tokens

    @property
    def run_reading(self) -> MemoryRunReading:
        """The API's reads of runs."""
        return self._run_reading

    @property
    def retention(self) -> MemoryRetention:
        """Retention settings and pruning."""
        return self._retention

    @property
    def delivery(self) -> MemoryDelivery:
        """Per-host limits, circuit breakers and admissions."""
        return self._delivery

    @property
    def run_events(self) -> MemoryRunEvents:
        """Notification endpoints and the outbox of run events."""
        return self._run_events

    async def create_run(self, run: NewRun) -> None:
        """Record a run; its first step is due at once."""
        now = self._clock.now()
        self._runs[run.id] = StoredRun(
            id=run.id,
            workflow_name=run.workflow_name,
            # Like SQL (PINNED_DOCUMENT): a version's run reads its version's document.
            document=(
                self._workflows.published_document(run.version_id)
                if run.version_id is not None
                else copy.deepcopy(run.document)
            ),
            trigger=copy.deepcopy(run.trigger),
            status=RunStatus.PENDING.value,
            created_at=now,
            updated_at=now,
            finished_at=None,
            org_id=run.org_id,
            workflow_id=run.workflow_id,
            version_id=run.version_id,
        )
        for position, (step_id, step_run_id) in enumerate(
            zip(run.step_ids, run.step_run_ids, strict=True)
        ):
            self._steps[step_run_id] = _StepRow(
                id=step_run_id,
                run_id=run.id,
                position=position,
                step_id=step_id,
                status=StepStatus.PENDING.value,
                created_at=now,
                due_at=now if position == 0 else None,
                timeout=run.timeout_of(position),
            )

    def _set_run(self, run_id: str, **changes: Any) -> None:
        self._runs[run_id] = replace(self._runs[run_id], **changes)

    async def claim_due(
        self, *, lease_seconds: float, limit: int, run_id: str | None = None
    ) -> list[Claim]:
        """Lease due step runs, taking over expired leases (by the store's clock)."""
        now = self._clock.now()
        due = sorted(
            (
                row
                for row in self._steps.values()
                if row.due_at is not None
                and row.due_at <= now
                and (run_id is None or row.run_id == run_id)
            ),
            key=lambda row: row.due_at or 0.0,
        )[:limit]
        token = secrets.token_hex(16)
        claims = []
        for row in due:
            row.lease_token, row.status = token, StepStatus.RUNNING.value
            row.due_at = now + row.timeout + lease_seconds
            for index, attempt in enumerate(row.attempts):
                if attempt.status == AttemptStatus.SENDING.value:
                    row.attempts[index] = replace(
                        attempt, status=AttemptStatus.INTERRUPTED.value, ended_at=now
                    )
                    row.interruptions += 1
            if self._runs[row.run_id].status == RunStatus.PENDING.value:
                self._set_run(row.run_id, status=RunStatus.RUNNING.value, updated_at=now)
            attempt_id = new_id("att")
            row.attempts.append(
                StoredAttempt(
                    id=attempt_id,
                    number=len(row.attempts) + 1,
                    status=AttemptStatus.SENDING.value,
                    started_at=now,
                    ended_at=None,
                    http_status=None,
                    error=None,
                    request=None,
                    response=None,
                    next_attempt_at=None,
                )
            )
            claims.append(
                Claim(
                    step_run_id=row.id,
                    run_id=row.run_id,
                    position=row.position,
                    step_id=row.step_id,
                    lease_token=token,
                    lease_expires_at=row.due_at,
                    attempts_made=row.attempts_made,
                    interruptions=row.interruptions,
                    next_number=len(row.attempts),
                    attempt_id=attempt_id,
                )
            )
        return claims

    def _fenced(self, claim: Claim) -> _StepRow:
        row = self._steps[claim.step_run_id]
        if row.lease_token != claim.lease_token:
            raise LeaseLostError(
                f"the lease on step run {claim.step_run_id} was taken over; result not recorded"
            )
        return row

    async def run_input(self, run_id: str) -> RunInput:
        """Return the pinned document, trigger payload and organization."""
        run = self._get(run_id)
        return RunInput(
            copy.deepcopy(run.document), copy.deepcopy(run.trigger), run.org_id, run.version_id
        )

    async def finish_attempt(self, claim: Claim, finished: FinishedAttempt) -> None:
        """Record the attempt's end and move the run on; its host's outcome and events too."""
        row = self._fenced(claim)
        now = self._clock.now()
        next_attempt_at = (
            now + (finished.retry_delay or 0.0) if finished.decision is Decision.RETRY else None
        )
        for index, attempt in enumerate(row.attempts):
            if attempt.id == finished.attempt_id:
                row.attempts[index] = replace(
                    attempt,
                    status=finished.status,
                    ended_at=now,
                    http_status=finished.http_status,
                    error=copy.deepcopy(finished.error),
                    request=copy.deepcopy(finished.request),
                    response=copy.deepcopy(finished.response),
                    next_attempt_at=next_attempt_at,
                )
        row.lease_token, row.due_at = None, None
        row.wait_reason, row.waiting_for, row.deferrals = None, None, 0
        row.attempts_made += 1
        completed = self._move_on(row, claim, finished, now, next_attempt_at)
        host = finished.host
        if host is not None and await self._known(host.org_id):
            verdict = self._delivery.record_outcome(finished.attempt_id, host, now)
            announced = host.announce and EventType.HOST_PAUSED in finished.events
            if verdict is not None and verdict.opened and announced:
                self.outbox.append(host_paused(host, verdict.row, now=now))
        run = self._runs[claim.run_id]
        if finished.events and not (
            run.workflow_id is not None and self._workflows.is_system(run.workflow_id)
        ):
            self.outbox += result_events(run, claim, finished, completed=completed, now=now)

    async def _known(self, org_id: str) -> bool:
        """Say whether the organization exists (SQL makes no host row for one that does not)."""
        try:
            await self._accounts.get_organization(org_id=org_id)
        except NotFoundError:
            return False
        return True

    def _move_on(
        self,
        row: _StepRow,
        claim: Claim,
        finished: FinishedAttempt,
        now: float,
        next_attempt_at: float | None,
    ) -> bool:
        """Move the step run and its run on after its attempt; return whether the run completed."""
        decision = finished.decision
        if decision is Decision.RETRY:
            row.status, row.due_at = StepStatus.WAITING.value, next_attempt_at
            return False
        if decision is Decision.SUCCEEDED:
            row.status, row.output = StepStatus.SUCCEEDED.value, copy.deepcopy(finished.output)
        else:
            row.status, row.error = StepStatus.ERRORED.value, copy.deepcopy(finished.error)
            if decision is Decision.ERRORED_CONTINUE:
                row.output = copy.deepcopy(finished.output)
        if decision is Decision.ERRORED_FAIL:
            for other in self._rows(claim.run_id):
                if other.status == StepStatus.PENDING.value:
                    other.status, other.due_at = StepStatus.SKIPPED.value, None
            self._set_run(
                claim.run_id, status=RunStatus.FAILED.value, updated_at=now, finished_at=now
            )
            return False
        following = [
            other
            for other in self._rows(claim.run_id)
            if other.position > claim.position and other.status == StepStatus.PENDING.value
        ]
        if following:
            following[0].due_at = now
            return False
        self._set_run(
            claim.run_id, status=RunStatus.COMPLETED.value, updated_at=now, finished_at=now
        )
        return True

    async def defer(self, claim: Claim, deferral: Deferral) -> None:
        """Put a claimed step run back without an attempt (its `sending` one removed)."""
        row = self._fenced(claim)
        now = self._clock.now()
        row.attempts = [attempt for attempt in row.attempts if attempt.id != claim.attempt_id]
        row.lease_token, row.status = None, StepStatus.PENDING.value
        row.due_at = now + max(0.0, deferral.delay)
        row.wait_reason, row.waiting_for = deferral.reason[:300], deferral.host[:253]
        row.deferrals += 1
        run = self._runs[claim.run_id]
        sent = any(other.attempts for other in self._rows(claim.run_id))
        if run.status == RunStatus.RUNNING.value and not sent:
            self._set_run(claim.run_id, status=RunStatus.PENDING.value, updated_at=now)

    # Delivery control's reach into the step runs (memory_delivery.py), as SQL shares tables.

    def deferrals_of(self, step_run_id: str) -> int:
        """Return how often a step run was held back since its last attempt ended."""
        row = self._steps.get(step_run_id)
        return row.deferrals if row is not None else 0

    def _waiting(self, org_id: str) -> list[_StepRow]:
        return [
            row
            for row in self._steps.values()
            if row.waiting_for is not None
            and row.status == StepStatus.PENDING.value
            and self._runs[row.run_id].org_id == org_id
        ]

    def waiting_counts(self, org_id: str) -> Counter[str]:
        """Count an organization's pending step runs waiting for each host."""
        return Counter(row.waiting_for for row in self._waiting(org_id) if row.waiting_for)

    def wake_waiting(self, org_id: str, host: str, now: float) -> None:
        """Make an organization's step runs waiting for `host` due now."""
        for row in self._waiting(org_id):
            if row.waiting_for == host and row.due_at is not None and row.due_at > now:
                row.due_at = now

    def wake_next(self, org_id: str, host: str, now: float) -> None:
        """Make the organization's step run waiting for `host` that is due soonest due now."""
        waiting = [
            row
            for row in self._waiting(org_id)
            if row.waiting_for == host and row.due_at is not None and row.due_at > now
        ]
        if waiting:
            min(waiting, key=lambda row: row.due_at or 0.0).due_at = now

    def _rows(self, run_id: str) -> list[_StepRow]:
        return sorted(
            (row for row in self._steps.values() if row.run_id == run_id),
            key=lambda row: (row.position, row.created_at),
        )

    def _get(self, run_id: str) -> StoredRun:
        if run_id not in self._runs:
            raise UnknownRunError(f"no run {run_id}")
        return self._runs[run_id]

    async def outputs(
        self, run_id: str, *, step_ids: frozenset[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Return the outputs of finished steps (only `step_ids` if given)."""
        return {
            row.step_id: copy.deepcopy(row.output)
            for row in self._rows(run_id)
            if row.status in (StepStatus.SUCCEEDED.value, StepStatus.ERRORED.value)
            and row.output is not None
            and (step_ids is None or row.step_id in step_ids)
        }

    async def get_run(self, run_id: str) -> StoredRun:
        """Return a run with its step runs and attempts."""
        run = self._get(run_id)
        steps = tuple(
            StoredStepRun(
                id=row.id,
                position=row.position,
                step_id=row.step_id,
                status=row.status,
                due_at=row.due_at,
                output=copy.deepcopy(row.output),
                error=copy.deepcopy(row.error),
                resumed_from=row.resumed_from,
                interruptions=row.interruptions,
                attempts=tuple(row.attempts),
                wait_reason=row.wait_reason,
            )
            for row in self._rows(run_id)
        )
        return replace(run, steps=steps)

    async def list_runs(
        self, *, status: str | None = None, limit: int = 50, where: RunFilter | None = None
    ) -> list[StoredRun]:
        """Return runs, newest first, without their steps; `before_id` pages on."""
        where = where or RunFilter()
        status = where.status or status
        found = [
            replace(run, steps=())
            for run in self._runs.values()
            if (status is None or run.status == status)
            and (where.org_id is None or run.org_id == where.org_id)
            and (where.workflow_id is None or run.workflow_id == where.workflow_id)
            and (where.created_after is None or run.created_at >= where.created_after)
            and (where.created_before is None or run.created_at < where.created_before)
        ]
        if where.before_id is not None:
            cursor = self._runs.get(where.before_id)
            found = (
                []
                if cursor is None
                else [r for r in found if (r.created_at, r.id) < (cursor.created_at, cursor.id)]
            )
        found.sort(key=lambda run: (run.created_at, run.id), reverse=True)
        return found[:limit]

    async def cancel(self, run_id: str) -> None:
        """Cancel a pending or running run."""
        now = self._clock.now()
        run = self._get(run_id)
        if run.status not in (RunStatus.PENDING.value, RunStatus.RUNNING.value):
            raise RunStateError(
                f"run {run_id} is {run.status}; only a pending or running run can be cancelled"
            )
        for row in self._steps.values():
            if row.run_id == run_id and row.status not in ("succeeded", "errored"):
                row.status, row.due_at, row.lease_token = StepStatus.CANCELLED.value, None, None
                for index, attempt in enumerate(row.attempts):
                    if attempt.status == AttemptStatus.SENDING.value:
                        row.attempts[index] = replace(
                            attempt, status=AttemptStatus.INTERRUPTED.value, ended_at=now
                        )
        self._set_run(run_id, status=RunStatus.CANCELLED.value, updated_at=now, finished_at=now)

    async def run_status(self, run_id: str) -> str:
        """Return a run's status."""
        return self._get(run_id).status

    async def resume(self, run_id: str, *, step_run_id: str) -> None:
        """Resume a failed run from its failed step."""
        now = self._clock.now()
        run = self._get(run_id)
        if run.status != RunStatus.FAILED.value:
            raise RunStateError(f"run {run_id} is {run.status}; only a failed run can be resumed")
        if run.bodies_removed_at is not None:  # checked with the rest, before any write
            raise bodies_gone(run_id)
        failed = [
            row
            for row in self._rows(run_id)
            if row.status == StepStatus.ERRORED.value and row.output is None
        ][-1]
        for row in self._rows(run_id):
            if row.status == StepStatus.SKIPPED.value:
                row.status = StepStatus.PENDING.value
        self._steps[step_run_id] = _StepRow(
            id=step_run_id,
            run_id=run_id,
            position=failed.position,
            step_id=failed.step_id,
            status=StepStatus.PENDING.value,
            created_at=now,
            due_at=now,
            resumed_from=failed.id,
            timeout=failed.timeout,
        )
        self._set_run(run_id, status=RunStatus.RUNNING.value, updated_at=now, finished_at=None)

    # Retention's reach into the records (memory_retention.py), as SQL shares its tables.

    def runs_before(self, org_id: str | None, before: float) -> list[StoredRun]:
        """Return the runs of one organization (None: of none) created before `before`.

        Oldest first, without their steps, as SQL walks `ix_runs_org_created`.
        """
        return sorted(
            (r for r in self._runs.values() if r.org_id == org_id and r.created_at < before),
            key=lambda run: (run.created_at, run.id),
        )

    def step_rows(self, run_ids: Collection[str]) -> list[_StepRow]:
        """Return the step runs of these runs as held: retention blanks their bodies in place."""
        return [row for row in self._steps.values() if row.run_id in run_ids]

    def delete_runs(self, run_ids: Collection[str]) -> int:
        """Delete these runs with their step runs; return how many attempts went with them."""
        rows = self.step_rows(run_ids)
        for row in rows:
            del self._steps[row.id]
        for run_id in run_ids:
            self._runs.pop(run_id, None)
        return sum(len(row.attempts) for row in rows)

    def drop_trigger(self, run_id: str) -> None:
        """Blank a run's trigger payload and stamp `bodies_removed_at` (retention)."""
        self._set_run(run_id, trigger=None, bodies_removed_at=self._clock.now())

    async def seconds_until_due(self, run_id: str | None = None) -> float | None:
        """Return the seconds until the earliest due time (0 when due now), or None."""
        times = [
            row.due_at
            for row in self._steps.values()
            if row.due_at is not None and (run_id is None or row.run_id == run_id)
        ]
        return max(0.0, min(times) - self._clock.now()) if times else None

    async def worker_seen(self, worker_id: str, *, host: str, pid: int) -> None:
        """Record that a worker is alive."""
        self._workers[worker_id] = self._clock.now()

    async def last_worker_seen_at(self) -> float | None:
        """Return when a worker was last seen."""
        return max(self._workers.values()) if self._workers else None

    async def seconds_since_worker_seen(self) -> float | None:
        """Return how long ago, by the store's clock, a worker was last seen."""
        last = await self.last_worker_seen_at()
        return max(0.0, self._clock.now() - last) if last is not None else None
