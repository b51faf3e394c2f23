"""The store's SQL (SQLAlchemy Core, synchronous): SQLite by default, PostgreSQL at scale.

No transaction stays open across network I/O: each method is one short
transaction. Claims are one `UPDATE ... RETURNING` (with `FOR UPDATE SKIP
LOCKED` on PostgreSQL), and every write for claimed work is fenced by
`WHERE id = :id AND lease_token = :token`. Every time compared or written is
the database's (`database_now`): callers pass durations, never times.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa

from callout.model.clock import Clock
from callout.model.delivery import Deferral
from callout.model.records import AttemptStatus, RunStatus, StepStatus
from callout.store.claims import claim_due, until_due
from callout.store.database_clock import database_now, keep_time_with
from callout.store.deferrals import record_deferral
from callout.store.driver_errors import unavailable
from callout.store.merged_results import record_results
from callout.store.merged_writes import Refused
from callout.store.notifications import DUE_CHANNEL
from callout.store.protocol import (
    Claim,
    FinishedAttempt,
    LeaseLostError,
    NewRun,
    RunFilter,
    RunInput,
    RunStateError,
    StoredRun,
    UnknownRunError,
)
from callout.store.read_snapshot import one_snapshot
from callout.store.retention import bodies_gone
from callout.store.run_records import (
    PINNED_DOCUMENT,
    insert_run,
    read_run,
    read_runs,
    runs_with_documents,
)
from callout.store.tables import attempts, runs, step_runs, workers

T = TypeVar("T")

DEADLOCK_TRIES = 3
"""Times a group commit runs when PostgreSQL ends it as deadlocked (see `write_batch`)."""

POSTGRES_DEADLOCK = "40P01"

_FINISHED_STEP = (StepStatus.SUCCEEDED.value, StepStatus.ERRORED.value)
_OPEN_STEP = (
    StepStatus.PENDING.value,
    StepStatus.RUNNING.value,
    StepStatus.WAITING.value,
    StepStatus.SKIPPED.value,
)


class SyncSqlStore:
    """The store's SQL, synchronous: `SqlStore` runs each method, one transaction, in a thread."""

    def __init__(
        self, engine: sa.Engine, *, reader: sa.Engine | None = None, clock: Clock | None = None
    ) -> None:
        self._engine = engine
        self._reader = reader or engine
        # None: the database's own clock (PostgreSQL's server, SQLite's host).
        keep_time_with(self._engine, clock)
        if self._reader is not self._engine:
            keep_time_with(self._reader, clock)
        self._postgres = engine.dialect.name == "postgresql"
        self._sqlite = engine.dialect.name == "sqlite"

    @property
    def engine(self) -> sa.Engine:
        """The engine this store writes through."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()
        if self._reader is not self._engine:
            self._reader.dispose()

    @contextlib.contextmanager
    def _durable(self, *, synced: bool = True) -> Iterator[sa.Connection]:
        """Open a write transaction; `synced`: on disk once it commits.

        SQLite's WAL with `synchronous=NORMAL` survives a crashed process but may lose
        the last commits to a power cut; a run's creation is what a trigger call is
        acknowledged on, so its commit is synced (`FULL`). The engine's own writes
        (claims, results) need not be: a result lost to a power cut is sent again
        with the same idempotency key.
        """
        with self._engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            if not (synced and self._sqlite):
                raw = None
            if raw is not None:
                raw.execute("PRAGMA synchronous=FULL")
            try:
                with conn.begin():
                    yield conn
            finally:
                if raw is not None:
                    raw.execute("PRAGMA synchronous=NORMAL")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """Lend a reader connection; on PostgreSQL, one outside any transaction.

        Under PostgreSQL's READ COMMITTED each statement of a transaction sees the
        latest commit anyway, so a read needs no transaction of its own: in autocommit
        it is one round trip, not three (BEGIN, the statement, the end). And it ends
        without the pool's rollback, at which psycopg forgets every statement it
        prepared on the connection (it cannot tell what the transaction prepared): each
        read after a hot write made the connection's next writes parse and plan their
        statements again. A read that must see one moment (`one_snapshot`) still asks
        for a transaction of REPEATABLE READ, and gets one.
        """
        with self._reader.connect() as conn:
            if self._postgres:
                conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
            if self._postgres and conn.in_transaction():
                conn.commit()

    def reading(self, call: Callable[..., T], *args: Any) -> T:
        """Run `call(connection, *args)` on a reader connection."""
        with self._reading() as conn:
            return call(conn, *args)

    def write_batch(
        self, calls: list[tuple[Callable[[sa.Connection], Any], bool]], *, synced: bool = True
    ) -> list[tuple[bool, Any]]:
        """Run each call in one transaction (group commit), each in its own savepoint if asked.

        One commit, one disk sync (when `synced`), for many callers. Returns (ok, result
        or exception) per call; a call that raises is rolled back alone: by its savepoint,
        or, for one without, only when it is refused before writing anything (a fenced
        write refused by its first statement, `LeaseLostError`); anything else a call
        without a savepoint raises fails the whole batch. A failed commit raises for all.

        Results lock their hosts' delivery rows (`host_outcomes.py`), and two batches may
        take two hosts in opposite orders: PostgreSQL then ends one of them as deadlocked.
        Nothing of it was committed, so the whole batch runs again (`DEADLOCK_TRIES`).
        """
        for tries_left in reversed(range(DEADLOCK_TRIES)):
            try:
                return self._write_batch_once(calls, synced=synced)
            except sa.exc.DBAPIError as exc:
                if tries_left == 0 or not _deadlocked(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the last try raises

    def _write_batch_once(
        self, calls: list[tuple[Callable[[sa.Connection], Any], bool]], *, synced: bool
    ) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with self._durable(synced=synced) as conn:
            for call, savepoint in calls:
                try:
                    if savepoint:
                        with conn.begin_nested():
                            outcomes.append((True, call(conn)))
                    else:
                        outcomes.append((True, call(conn)))
                except Exception as exc:  # handed to that call's caller
                    if unavailable(exc) is not None or isinstance(exc, sa.exc.PendingRollbackError):
                        raise  # the connection is gone: the whole batch fails, each caller told
                    if _deadlocked(exc):
                        raise  # the whole batch runs again (`write_batch`)
                    if not savepoint and not isinstance(exc, LeaseLostError):
                        # It may have written part of itself, with no savepoint to undo it:
                        # nothing of this batch may commit. Each caller is told.
                        raise
                    outcomes.append((False, exc))
            if synced:
                # A service write (a trigger call's runs, a resume) may have made work
                # due: wake listening workers. Claims and results never notify here: a
                # claim that woke every worker, itself included, would never rest; a
                # result that makes the next step due notifies on its own.
                self._notify_due(conn)
        return outcomes

    def create_run(self, run: NewRun) -> None:
        """Record a run and its step runs; the first is due at once. Synced to disk."""
        with self._durable() as conn:
            insert_run(conn, run)
            self._notify_due(conn)

    def claim_due(
        self,
        conn: sa.Connection,
        *,
        lease_seconds: float,
        limit: int,
        run_id: str | None = None,
        attempt_id: Callable[[], str],
    ) -> list[Claim]:
        """Lease due step runs and record each one's attempt as `sending`, in `conn`'s transaction.

        A row whose lease expired is taken over with a new token (its `sending` attempt
        marked interrupted). The lease runs the step's timeout plus `lease_seconds`. Due
        and expired mean `due_at <= ` the database's now; the claimer's clock has no say.
        The statements: `claims.py`.
        """
        return claim_due(
            conn,
            lease_seconds=lease_seconds,
            limit=limit,
            run_id=run_id,
            attempt_id=attempt_id,
            postgres=self._postgres,
        )

    def run_input(self, run_id: str) -> RunInput:
        """Return the pinned document, the trigger payload and the organization of a run."""
        with self._reading() as conn:
            row = (
                conn.execute(
                    runs_with_documents()
                    .with_only_columns(
                        PINNED_DOCUMENT, runs.c.trigger, runs.c.org_id, runs.c.version_id
                    )
                    .where(runs.c.id == run_id)
                )
            ).one_or_none()
        if row is None:
            raise UnknownRunError(f"no run {run_id}")
        return RunInput(
            document=row.document,
            trigger=row.trigger,
            org_id=row.org_id,
            version_id=row.version_id,
        )

    def finish_attempts(
        self, conn: sa.Connection, results: list[tuple[Claim, FinishedAttempt]]
    ) -> list[Refused | None]:
        """Record each attempt's end and move its run on, in `conn`'s transaction, fenced.

        The end is stamped, and a retry made due `retry_delay` later, by the database's
        clock. Each result is fenced alone: one whose lease was taken over is answered
        `Refused`, having written nothing. On PostgreSQL one statement per decision; on
        SQLite each fence alone, the rest per decision (`merged_results.py`).
        """
        outcomes, woken = record_results(conn, results)
        if woken:
            self._notify_due(conn)
        return outcomes

    def defer(self, conn: sa.Connection, claim: Claim, deferral: Deferral) -> None:
        """Put the claimed step run back without an attempt, in `conn`'s transaction, fenced.

        Due `deferral.delay` after the database's now (the statements: `deferrals.py`).
        """
        record_deferral(conn, claim, deferral)

    def _notify_due(self, conn: sa.Connection) -> None:
        """On PostgreSQL, wake listening workers when this transaction commits.

        Only a hint: workers still poll, and a lost notification costs one poll.
        """
        if self._postgres:
            conn.execute(sa.text(f"NOTIFY {DUE_CHANNEL}"))

    def outputs(
        self, run_id: str, *, step_ids: frozenset[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Return the outputs of a run's finished steps, by step id (only `step_ids` if given)."""
        query = (
            sa.select(step_runs.c.step_id, step_runs.c.output)
            .where(step_runs.c.run_id == run_id)
            .where(step_runs.c.status.in_(_FINISHED_STEP))
            .where(step_runs.c.output.is_not(None))
            .order_by(step_runs.c.position, step_runs.c.created_at)
        )
        if step_ids is not None:
            query = query.where(step_runs.c.step_id.in_(sorted(step_ids)))
        with self._reading() as conn:
            rows = (conn.execute(query)).all()
        return {row.step_id: row.output for row in rows}

    def get_run(self, run_id: str) -> StoredRun:
        """Return a run with its step runs and their attempts."""
        with self._reading() as conn, one_snapshot(conn):
            return read_run(conn, run_id)

    def list_runs(
        self, *, status: str | None = None, limit: int = 50, where: RunFilter | None = None
    ) -> list[StoredRun]:
        """Return runs, newest first, without their steps; `before_id` pages on."""
        with self._reading() as conn:
            return read_runs(conn, status=status, limit=limit, where=where)

    def cancel(self, run_id: str) -> None:
        """Cancel a pending or running run; a worker holding one of its steps loses its lease."""
        with self._engine.begin() as conn:
            now = database_now(conn)
            status = (
                conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id))
            ).scalar_one_or_none()
            if status is None:
                raise UnknownRunError(f"no run {run_id}")
            if status not in (RunStatus.PENDING.value, RunStatus.RUNNING.value):
                raise RunStateError(
                    f"run {run_id} is {status}; only a pending or running run can be cancelled"
                )
            open_steps = (
                sa.select(step_runs.c.id)
                .where(step_runs.c.run_id == run_id)
                .where(step_runs.c.status.in_(_OPEN_STEP))
            )
            conn.execute(
                sa.update(attempts)
                .where(attempts.c.step_run_id.in_(open_steps.scalar_subquery()))
                .where(attempts.c.status == AttemptStatus.SENDING.value)
                .values(status=AttemptStatus.INTERRUPTED.value, ended_at=now)
            )
            conn.execute(
                sa.update(step_runs)
                .where(step_runs.c.run_id == run_id)
                .where(step_runs.c.status.in_(_OPEN_STEP))
                .values(
                    status=StepStatus.CANCELLED.value, due_at=None, lease_token=None, updated_at=now
                )
            )
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(status=RunStatus.CANCELLED.value, updated_at=now, finished_at=now)
            )

    def resume(self, run_id: str, *, step_run_id: str) -> None:
        """Resume a failed run: a new step run for the failed step; skipped ones pending again.

        Refused (RunStateError) when retention removed the run's bodies: checked here, in
        the resume's transaction, on the run's row locked (PostgreSQL: `FOR UPDATE`; a
        prune batch blanking the bodies holds it, so this waits for it and sees its
        result, and a batch that comes after skips the run, now running). SQLite's one
        writer orders the two anyway.
        """
        with self._engine.begin() as conn:
            now = database_now(conn)
            query = sa.select(runs.c.status, runs.c.bodies_removed_at).where(runs.c.id == run_id)
            if self._postgres:
                query = query.with_for_update()
            row = conn.execute(query).one_or_none()
            if row is None:
                raise UnknownRunError(f"no run {run_id}")
            if row.status != RunStatus.FAILED.value:
                raise RunStateError(
                    f"run {run_id} is {row.status}; only a failed run can be resumed"
                )
            if row.bodies_removed_at is not None:
                raise bodies_gone(run_id)
            failed = (
                conn.execute(
                    sa.select(step_runs)
                    .where(step_runs.c.run_id == run_id)
                    .where(step_runs.c.status == StepStatus.ERRORED.value)
                    .where(step_runs.c.output.is_(None))  # errored and not continued
                    .order_by(step_runs.c.position.desc(), step_runs.c.created_at.desc())
                    .limit(1)
                )
            ).one()
            conn.execute(
                step_runs.insert().values(
                    id=step_run_id,
                    run_id=run_id,
                    position=failed.position,
                    step_id=failed.step_id,
                    status=StepStatus.PENDING.value,
                    due_at=now,
                    timeout=failed.timeout,
                    resumed_from=failed.id,
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                sa.update(step_runs)
                .where(step_runs.c.run_id == run_id)
                .where(step_runs.c.status == StepStatus.SKIPPED.value)
                .values(status=StepStatus.PENDING.value, updated_at=now)
            )
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(status=RunStatus.RUNNING.value, updated_at=now, finished_at=None)
            )
            self._notify_due(conn)

    def seconds_until_due(self, run_id: str | None = None) -> float | None:
        """Return the seconds until the earliest due time (of one run if given), or None.

        Measured on the database's clock: 0 when something is due now.
        """
        with self._reading() as conn:
            value = until_due(conn, run_id)
        return None if value is None else max(0.0, value)

    def run_status(self, run_id: str) -> str:
        """Return a run's status."""
        with self._reading() as conn:
            status = (
                conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id))
            ).scalar_one_or_none()
        if status is None:
            raise UnknownRunError(f"no run {run_id}")
        return str(status)

    def worker_seen(self, worker_id: str, *, host: str, pid: int) -> None:
        """Record that a worker is alive at the database's time (insert it on first sight)."""
        with self._engine.begin() as conn:
            now = database_now(conn)
            updated = conn.execute(
                sa.update(workers).where(workers.c.id == worker_id).values(last_seen_at=now)
            )
            if updated.rowcount == 0:
                conn.execute(
                    workers.insert().values(
                        id=worker_id, host=host, pid=pid, started_at=now, last_seen_at=now
                    )
                )

    def last_worker_seen_at(self) -> float | None:
        """Return when any worker last said it was alive."""
        with self._reading() as conn:
            value = (
                conn.execute(sa.select(sa.func.max(workers.c.last_seen_at)))
            ).scalar_one_or_none()
        return float(value) if value is not None else None

    def seconds_since_worker_seen(self) -> float | None:
        """Return how long ago, by the database's clock, any worker said it was alive."""
        with self._reading() as conn:
            value = (
                conn.execute(sa.select(database_now(conn) - sa.func.max(workers.c.last_seen_at)))
            ).scalar_one_or_none()
        return max(0.0, float(value)) if value is not None else None


def _deadlocked(error: BaseException) -> bool:
    """Say whether PostgreSQL ended the transaction as one side of a deadlock."""
    orig = error.orig if isinstance(error, sa.exc.DBAPIError) else error
    return isinstance(orig, psycopg.Error) and orig.sqlstate == POSTGRES_DEADLOCK
