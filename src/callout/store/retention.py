"""How long an organization's records are kept, and what a store does to prune them (no SQL here).

An organization keeps its runs (with their step runs and attempts) and its
trigger call records `days` days (default 30), and their bodies `body_days`
days (default: as long as the runs). A body is what a run carried, not what it
did: its trigger payload, its attempts' request and response bodies, its step
outputs' and errors' bodies. When the bodies go, the run's record stays
(statuses, times, methods, URLs, headers, status codes, error types and
messages) and `runs.bodies_removed_at` says when. A trigger call's
`Idempotency-Key` expires 24 hours after the call (as Stripe's do): a repeat of
the key after that starts new runs. Runs started by `callout run` (no
organization) keep the defaults.

Age counts from when a run was created, by the database's clock. A run still
pending or running is never touched, however old. Workflow versions are never
pruned: runs read their version's document.

`SqlRetention` and `MemoryRetention` implement `RetentionRecords`;
`store/pruning.py` drives them batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from callout.model.errors import Problem
from callout.store.protocol import RunStateError

DAY = 24 * 3600.0

DEFAULT_RETENTION_DAYS = 30
"""Days an organization keeps its runs unless it says otherwise."""

MAX_RETENTION_DAYS = 3650
"""The longest retention an organization may ask for (ten years)."""

TRIGGER_KEY_LIFETIME = DAY
"""Seconds a trigger call's `Idempotency-Key` replays its first answer (at least; then pruned)."""

FINISHED_RUN = ("completed", "failed", "cancelled")
"""The run statuses pruning may touch; pending and running runs are kept."""

NO_ORGANIZATION = "(runs of no organization)"
"""How a report names the runs `callout run` recorded."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long an organization keeps its runs and their bodies (`None`: the default)."""

    days: int | None = None
    body_days: int | None = None  # None: bodies go with their runs

    @property
    def run_days(self) -> int:
        """Days runs and trigger call records are kept."""
        return self.days if self.days is not None else DEFAULT_RETENTION_DAYS

    @property
    def bodies_days(self) -> int:
        """Days bodies are kept (never longer than their runs)."""
        return min(self.body_days, self.run_days) if self.body_days is not None else self.run_days

    @property
    def removes_bodies_early(self) -> bool:
        """Whether bodies go before their runs do."""
        return self.bodies_days < self.run_days


def bodies_gone(run_id: str) -> RunStateError:
    """Return why a failed run whose bodies retention removed cannot be resumed (409).

    Its remaining steps would read its trigger payload and earlier steps' outputs,
    which are gone: they would run on nulls. The stores check it in the resume's
    own transaction (`sql_sync.py`, `memory.py`).
    """
    return RunStateError(
        f"run {run_id} cannot be resumed: retention removed its bodies (its trigger "
        "payload and step outputs), which its remaining steps would read"
    )


def retention_problems(retention: Retention, *, names: tuple[str, str]) -> list[Problem]:
    """Return what is wrong with a retention setting (every problem), at the paths `names`.

    `names` are what the caller calls the two fields (API: `body.retention_days`,
    `body.body_retention_days`; CLI: `--days`, `--body-days`).
    """
    days_name, body_name = names
    problems = []
    if retention.days is not None and not 1 <= retention.days <= MAX_RETENTION_DAYS:
        problems.append(
            Problem(days_name, f"must be 1 to {MAX_RETENTION_DAYS} days, got {retention.days}")
        )
    if retention.body_days is not None:
        if not 0 <= retention.body_days <= MAX_RETENTION_DAYS:
            problems.append(
                Problem(
                    body_name,
                    f"must be 0 to {MAX_RETENTION_DAYS} days, got {retention.body_days}",
                )
            )
        elif retention.body_days > retention.run_days:
            problems.append(
                Problem(
                    body_name,
                    f"is {retention.body_days} days, longer than the runs are kept "
                    f"({retention.run_days} days): bodies go with their runs at the latest",
                )
            )
    return problems


class PruneKind(StrEnum):
    """What one batch of pruning removes, in the order a pass removes them."""

    RUNS = "runs"  # finished runs past retention, with their step runs and attempts
    TRIGGER_CALLS = "trigger_calls"  # trigger call records past retention
    BODIES = "bodies"  # the bodies of finished runs past body retention
    TRIGGER_KEYS = "trigger_keys"  # idempotency keys of calls over 24 h old


@dataclass(frozen=True, slots=True)
class RetentionScope:
    """Whose records a pass prunes: an organization, or runs of none (`org_id` None)."""

    org_id: str | None
    name: str
    retention: Retention


RunPosition = float
"""Where a batch of runs ended: its last run's `created_at`; the next batch starts there.

Only the creation time, not the id too: the walk then follows the index on
(organization, creation time) without sorting, and what it reads again at that
one time are runs it kept (not finished), never many."""


NO_ORGANIZATION_SCOPE = RetentionScope(None, NO_ORGANIZATION, Retention())
"""The runs `callout run` recorded: the last scope of a pass, with the default retention."""


def moved_mark(
    created: list[float], *, limit: int, cutoff: float, mark: float | None
) -> float | None:
    """Return where a marked walk (bodies, keys) resumes after a batch, or None: it stays.

    `created` are the creation times of what the batch took, oldest first. A full
    batch resumes at its last; a short one found all before `cutoff`. A mark moves
    on, never back (a longer retention set later finds nothing behind it).
    """
    end = created[-1] if len(created) == limit else cutoff
    return end if mark is None or end > mark else None


@dataclass(frozen=True, slots=True)
class PruneBatch:
    """What one batch removed: `count` of its kind, the attempts that went with runs."""

    count: int
    attempts: int = 0
    last: RunPosition | None = None  # runs only: the next batch starts after it
    more: bool = False  # the batch was full: there may be more


@dataclass(frozen=True, slots=True)
class PruneCount:
    """What pruning would remove of one scope now (`callout db prune --dry-run`)."""

    org_id: str | None
    name: str
    runs: int = 0
    attempts: int = 0
    bodies: int = 0  # runs whose bodies would be removed (their records stay)
    trigger_calls: int = 0
    trigger_keys: int = 0
    kept_unfinished: int = 0  # runs past retention still pending or running: kept


class RetentionRecords(Protocol):
    """Retention settings, and pruning by intent: one bounded batch per call.

    Each batch is one short transaction of at most `limit` rows of its kind (and
    the step runs and attempts of those runs), so other writes (a trigger's run,
    a worker's result) commit between batches. Times are the database's.
    """

    async def get_retention(self, *, org_id: str) -> Retention:
        """Return an organization's setting. Raises NotFoundError."""
        ...

    async def set_retention(self, *, org_id: str, retention: Retention, now: float) -> Retention:
        """Replace an organization's setting (checked by the caller). Raises NotFoundError."""
        ...

    async def scopes(self) -> list[RetentionScope]:
        """Return every organization with its setting, then the runs of no organization."""
        ...

    async def prunable(self, scope: RetentionScope) -> PruneCount:
        """Count what a pass would remove of `scope` now, removing nothing."""
        ...

    async def prune_batch(
        self,
        scope: RetentionScope,
        kind: PruneKind,
        *,
        limit: int,
        after: RunPosition | None = None,
    ) -> PruneBatch:
        """Remove at most `limit` rows of `kind` from `scope`, in one transaction.

        Runs go oldest first, from `after` on (the previous batch's `last`), with
        their step runs and attempts; a run not finished is skipped.
        """
        ...

    async def take_prune_lease(self, holder: str, *, hold_for: float, every: float | None) -> bool:
        """Take (or renew) the right to prune for `hold_for` seconds; False when not given.

        Refused while another holder's lease runs, and, when `every` is given, until
        `every` seconds after the last pass finished (a schedule shared by every worker).
        """
        ...

    async def end_prune_lease(self, holder: str, *, finished: bool) -> None:
        """Give the lease back; `finished`: the pass ran to its end (the schedule restarts)."""
        ...
