"""What the engine asks of a store, by intent. SQL lives behind it.

Every write a worker makes for claimed work names its lease token; the store
refuses it (`LeaseLostError`) when the token no longer matches, so a worker
that stalled past its lease cannot overwrite the new owner's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from callout.model.delivery import Deferral
from callout.model.errors import StoreError
from callout.model.records import AttemptStatus, Decision

if TYPE_CHECKING:
    from callout.store.delivery import HostOutcome


class LeaseLostError(StoreError):
    """The lease on a step run is no longer ours: another worker took it over."""


class StoreUnavailable(StoreError):
    """The database cannot be reached now (restart, failover, lost connection, locked file).

    Nothing was recorded by the operation that raised it, or its outcome is unknown:
    callers wait and try again (`callout.store.outage`); the API answers 503.
    """


class NotFoundError(StoreError):
    """No record has that id (or not in the organization asking)."""


class ConflictError(StoreError):
    """The change asked for conflicts with the record's state (a name taken, a run finished)."""


class UnknownRunError(NotFoundError):
    """No run has that id."""


class RunStateError(ConflictError):
    """The run exists but is not in a state that allows the change asked for."""


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to record: pinned to the exact document it starts with."""

    id: str
    workflow_name: str
    document: Any
    trigger: Any
    step_ids: tuple[str, ...]
    step_run_ids: tuple[str, ...]
    org_id: str | None = None
    workflow_id: str | None = None
    version_id: str | None = None
    step_timeouts: tuple[float, ...] = ()
    """Each step's timeout (seconds), by position; a claim leases the step run that long
    plus the worker's margin. Missing entries are `DEFAULT_STEP_TIMEOUT`."""

    def timeout_of(self, position: int) -> float:
        """Return the timeout of the step at `position`."""
        if position < len(self.step_timeouts):
            return self.step_timeouts[position]
        return DEFAULT_STEP_TIMEOUT


DEFAULT_STEP_TIMEOUT = 30.0
"""The timeout a step run is leased for when its run did not say (a step's own default)."""


@dataclass(frozen=True, slots=True)
class RunInput:
    """What a run executes with: its pinned document, its trigger, and its organization."""

    document: Any
    trigger: Any
    org_id: str | None = None
    version_id: str | None = None  # published versions never change: compiled once per id


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs a listing returns (every field narrows; None means any)."""

    org_id: str | None = None
    workflow_id: str | None = None
    status: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    before_id: str | None = None  # the cursor: runs older than this one


@dataclass(frozen=True, slots=True)
class Claim:
    """A step run this worker holds under a lease until `lease_expires_at` (database time).

    The claim recorded the attempt it is for (`attempt_id`, number `next_number`) as
    `sending`: recorded before the request leaves, with no second write.
    """

    step_run_id: str
    run_id: str
    position: int
    step_id: str
    lease_token: str
    lease_expires_at: float
    attempts_made: int
    interruptions: int
    next_number: int
    attempt_id: str
    input: RunInput | None = None
    """The run's trigger, organization and version, read with the claim when the trigger is
    small (`CLAIM_INPUT_BYTES`); its `document` only for a run of no published version (a
    version's document is compiled once per process, by id). None: read it (`run_input`)."""

    @classmethod
    def leased(  # noqa: PLR0913 - the leased row, and what the claim made of it
        cls,
        row: Any,
        *,
        token: str,
        interruptions: int,
        next_number: int,
        attempt_id: str,
        input: RunInput | None,  # noqa: A002 - the field's name
    ) -> Claim:
        """Return the claim of a leased step run `row` (its id, run, place, lease, attempts)."""
        return cls(
            step_run_id=row.id,
            run_id=row.run_id,
            position=row.position,
            step_id=row.step_id,
            lease_token=token,
            lease_expires_at=float(row.due_at),
            attempts_made=row.attempts_made,
            interruptions=interruptions,
            next_number=next_number,
            attempt_id=attempt_id,
            input=input,
        )


CLAIM_INPUT_BYTES = 64 * 1024
"""Largest trigger a claim carries; a larger one is read on its own (and cached by size)."""


@dataclass(frozen=True, slots=True)
class FinishedAttempt:
    """An attempt's end, with what it decides for the step run.

    It carries no times: the store stamps the end with the database's time, and a
    retry is due `retry_delay` seconds after that (docs/durability.md, "Whose clock").
    """

    attempt_id: str
    succeeded: bool
    decision: Decision
    http_status: int | None = None
    error: dict[str, Any] | None = None
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    retry_delay: float | None = None  # seconds, for a RETRY decision (None: due at once)
    host: HostOutcome | None = None
    """What delivery control records with this result (store/delivery.py): a slot or the
    breaker's probe released, a failure counted, failures reset. None: nothing."""
    events: frozenset[str] = frozenset()
    """Run event types (store/run_events.py) the organization wants recorded, if this
    result causes them: `run.completed`, `run.failed`, `step.errored`, `host.paused`."""

    @property
    def status(self) -> str:
        """The status the attempt is recorded with."""
        return (AttemptStatus.SUCCEEDED if self.succeeded else AttemptStatus.FAILED).value


@dataclass(frozen=True, slots=True)
class StoredAttempt:
    """An attempt as recorded."""

    id: str
    number: int
    status: str
    started_at: float
    ended_at: float | None
    http_status: int | None
    error: dict[str, Any] | None
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    next_attempt_at: float | None


@dataclass(frozen=True, slots=True)
class StoredStepRun:
    """A step run as recorded, with its attempts."""

    id: str
    position: int
    step_id: str
    status: str
    due_at: float | None
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    resumed_from: str | None
    interruptions: int
    attempts: tuple[StoredAttempt, ...] = field(default=())
    wait_reason: str | None = None
    """Why a pending step run was held back by delivery control (`Store.defer`), if it was."""


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run as recorded, with its step runs in order."""

    id: str
    workflow_name: str
    document: Any
    trigger: Any
    status: str
    created_at: float
    updated_at: float
    finished_at: float | None
    steps: tuple[StoredStepRun, ...] = field(default=())
    org_id: str | None = None
    workflow_id: str | None = None
    version_id: str | None = None
    bodies_removed_at: float | None = None  # when retention blanked its bodies (retention.py)


class Store(Protocol):
    """The durable record of runs, and the due-work index workers claim from.

    The store owns "now": due times, lease expiry and the times records carry
    are the database's. Callers pass durations, never times, so a worker whose
    clock is wrong can neither make work due early nor take over a live lease.
    """

    async def create_run(self, run: NewRun) -> None:
        """Record a run; its first step is due at once. Returns once the run is durable."""
        ...

    async def claim_due(
        self, *, lease_seconds: float, limit: int, run_id: str | None = None
    ) -> list[Claim]:
        """Lease up to `limit` due step runs (expired leases included), of one run if given.

        Each claim records its attempt as `sending` in the same transaction, and marks
        attempts a dead worker left `sending` as interrupted. Due and expired are judged
        by the database's time; the lease runs the step's timeout plus `lease_seconds`.
        """
        ...

    async def run_input(self, run_id: str) -> RunInput:
        """Return the document a run is pinned to, its trigger payload and organization."""
        ...

    async def finish_attempt(self, claim: Claim, finished: FinishedAttempt) -> None:
        """Record an attempt's end and move the step run and run on. Fenced by the lease.

        Finishes arriving together may share one commit; each is fenced on its own.
        """
        ...

    async def defer(self, claim: Claim, deferral: Deferral) -> None:
        """Put a claimed step run back without counting an attempt. Fenced by the lease.

        The claim's `sending` attempt is removed (nothing was sent); the step run is
        `pending` again, due `deferral.delay` after the database's now, with the reason
        and host recorded; a run that has sent nothing yet is `pending` again.
        """
        ...

    async def outputs(
        self, run_id: str, *, step_ids: frozenset[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Return the outputs of a run's finished steps, by step id (only `step_ids` if given).

        An attempt reads only the outputs its step references: each may be large.
        """
        ...

    async def get_run(self, run_id: str) -> StoredRun:
        """Return a run with its step runs and attempts."""
        ...

    async def list_runs(
        self, *, status: str | None = None, limit: int = 50, where: RunFilter | None = None
    ) -> list[StoredRun]:
        """Return runs, newest first (without their steps)."""
        ...

    async def cancel(self, run_id: str) -> None:
        """Cancel a pending or running run: nothing more of it is sent or recorded."""
        ...

    async def run_status(self, run_id: str) -> str:
        """Return a run's status."""
        ...

    async def worker_seen(self, worker_id: str, *, host: str, pid: int) -> None:
        """Record that a worker is alive (at the database's time)."""
        ...

    async def last_worker_seen_at(self) -> float | None:
        """Return when any worker last said it was alive (database time), or None."""
        ...

    async def seconds_since_worker_seen(self) -> float | None:
        """Return how long ago, by the database's clock, a worker said it was alive, or None."""
        ...

    async def resume(self, run_id: str, *, step_run_id: str) -> None:
        """Resume a failed run from its failed step, as a new step run with a new key."""
        ...

    async def seconds_until_due(self, run_id: str | None = None) -> float | None:
        """Return how long until the next step run (of one run if given) is due, or None.

        Measured on the database's clock; 0 when something is due now. A worker
        sleeps that long on its own clock: only the length of the wait is local.
        """
        ...
