"""The store on SQLAlchemy, for asyncio: each operation is one transaction, run in a thread.

The SQL is synchronous (`sql_sync.py`); this facade hands each operation, whole,
to a thread: one hop per operation instead of one per statement. On SQLite
every write goes to the same single thread (one writer connection, `BEGIN
IMMEDIATE`) and reads to a small pool of read-only connections; on PostgreSQL
both go to pools of threads and connections.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa

from callout.model.clock import Clock
from callout.model.delivery import Deferral
from callout.model.ids import new_id
from callout.store.database import DatabaseUrl, open_engine, open_reader_engine
from callout.store.driver_errors import outages_translated, translated, unavailable
from callout.store.merged_writes import BatchCall, Merged, Refused, Write, batch_calls
from callout.store.protocol import (
    Claim,
    FinishedAttempt,
    NewRun,
    RunFilter,
    RunInput,
    StoredRun,
    StoreUnavailable,
)
from callout.store.schema import upgrade
from callout.store.sql_accounts import SqlAccounts
from callout.store.sql_delivery import SqlDelivery
from callout.store.sql_retention import SqlRetention
from callout.store.sql_run_events import SqlRunEvents
from callout.store.sql_run_reading import SqlRunReading
from callout.store.sql_sync import SyncSqlStore
from callout.store.sql_tokens import SqlAccessTokens
from callout.store.sql_workflows import SqlWorkflows

T = TypeVar("T")
A = TypeVar("A")
P = ParamSpec("P")

_Queued = tuple[Write, "asyncio.Future[Any]", bool, bool]
"""A write waiting for the next group commit: the call, its caller's future, synced, savepoint."""

POSTGRES_THREADS = 8
"""Concurrent transactions one process runs on PostgreSQL."""

MAX_BATCH = 64
"""Most service writes one commit carries (see `SqlStore.write`)."""


class SqlStore:
    """The `Store` protocol on SQLite or PostgreSQL.

    Its times are the database's: PostgreSQL's `now()`, or on SQLite the host's
    clock. `clock` stands in for the database's clock on either (tests).
    """

    def __init__(
        self, engine: sa.Engine, *, reader: sa.Engine | None = None, clock: Clock | None = None
    ) -> None:
        self._sql = SyncSqlStore(engine, reader=reader, clock=clock)
        self._clock = clock
        sqlite = engine.dialect.name == "sqlite"
        self._writes = ThreadPoolExecutor(
            max_workers=1 if sqlite else POSTGRES_THREADS, thread_name_prefix="callout-write"
        )
        self._reads = ThreadPoolExecutor(
            max_workers=4 if sqlite else POSTGRES_THREADS, thread_name_prefix="callout-read"
        )
        self._queued: list[_Queued] = []
        self._draining = 0
        self._max_draining = 1 if sqlite else 2  # batches grow while a commit is in flight
        # Health probes get their own thread: busy readers cannot make the database look down.
        self._probes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callout-probe")
        self._probe: asyncio.Future[int] | None = None
        self._accounts = SqlAccounts(self)
        self._workflows = SqlWorkflows(self)
        self._run_reading = SqlRunReading(self)
        self._retention = SqlRetention(self)
        self._tokens = SqlAccessTokens(self)
        self._delivery = SqlDelivery(self)
        self._run_events = SqlRunEvents(self)

    @property
    def accounts(self) -> SqlAccounts:
        """Organizations, API keys, dashboard sessions, secrets."""
        return self._accounts

    @property
    def workflows(self) -> SqlWorkflows:
        """Workflows, versions, trigger calls."""
        return self._workflows

    @property
    def tokens(self) -> SqlAccessTokens:
        """OAuth2 access tokens, shared by every worker."""
        return self._tokens

    @property
    def run_reading(self) -> SqlRunReading:
        """The API's reads of runs."""
        return self._run_reading

    @property
    def retention(self) -> SqlRetention:
        """Retention settings and pruning."""
        return self._retention

    @property
    def delivery(self) -> SqlDelivery:
        """Per-host limits, circuit breakers and admissions."""
        return self._delivery

    @property
    def run_events(self) -> SqlRunEvents:
        """Notification endpoints and the outbox of run events."""
        return self._run_events

    @property
    def engine(self) -> sa.Engine:
        """The engine this store writes through."""
        return self._sql.engine

    @property
    def clock(self) -> Clock | None:
        """The clock standing in for the database's (tests), or None: the database's own."""
        return self._clock

    async def _write(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        # A database out of reach raises StoreUnavailable, never a driver error.
        with outages_translated():
            return await loop.run_in_executor(
                self._writes, functools.partial(call, *args, **kwargs)
            )

    async def _read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        with outages_translated():
            return await loop.run_in_executor(self._reads, functools.partial(call, *args, **kwargs))

    async def close(self) -> None:
        """Finish queued work and close every connection."""
        await self._write(self._sql.close)
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)
        self._probes.shutdown(wait=False, cancel_futures=True)  # a hung probe must not hold us

    async def ping(self, *, within: float) -> None:
        """Return once the database answers `SELECT 1`; StoreUnavailable after `within` seconds.

        Callers at the same moment share one probe; a probe still hanging from an
        earlier call is waited for, not doubled.
        """
        if self._probe is None or self._probe.done():
            loop = asyncio.get_running_loop()
            self._probe = loop.run_in_executor(self._probes, self._sql.reading, _answer)
            # Whoever stopped waiting (a timeout) must not leave its error unread.
            self._probe.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            with outages_translated():
                await asyncio.wait_for(asyncio.shield(self._probe), within)
        except TimeoutError as exc:
            raise StoreUnavailable(
                f"the database is unavailable: no answer within {within:g} s"
            ) from exc

    async def create_run(self, run: NewRun) -> None:
        """Record a run; its first step is due at once. Returns once the run is durable."""
        await self._write(self._sql.create_run, run)

    async def claim_due(
        self, *, lease_seconds: float, limit: int, run_id: str | None = None
    ) -> list[Claim]:
        """Lease up to `limit` due step runs, each with its attempt recorded as `sending`.

        It shares a commit with the results and trigger calls queued beside it.
        """
        return await self._queue(
            functools.partial(
                self._sql.claim_due,
                lease_seconds=lease_seconds,
                limit=limit,
                run_id=run_id,
                attempt_id=_attempt_id,
            ),
            synced=False,
            savepoint=False,  # one statement decides; an error fails the whole batch
        )

    async def run_input(self, run_id: str) -> RunInput:
        """Return the document a run is pinned to, its trigger payload and organization."""
        return await self._read(self._sql.run_input, run_id)

    async def finish_attempt(self, claim: Claim, finished: FinishedAttempt) -> None:
        """Record an attempt's end and move the run on; fenced by the lease.

        Results arriving while another commit is in flight share the next one.
        """
        # The batch's results are recorded by one call (on PostgreSQL one statement); a
        # fence is each result's first write: one refused wrote nothing.
        await self._queue(
            Merged(self._sql.finish_attempts, (claim, finished)), synced=False, savepoint=False
        )

    async def defer(self, claim: Claim, deferral: Deferral) -> None:
        """Put a claimed step run back without an attempt; fenced by the lease.

        Deferrals share a commit with the results queued beside them.
        """
        await self._queue(
            functools.partial(self._sql.defer, claim=claim, deferral=deferral),
            synced=False,
            savepoint=False,  # the fence is its first write: refused, it wrote nothing
        )

    async def outputs(
        self, run_id: str, *, step_ids: frozenset[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Return the outputs of a run's finished steps, by step id (only `step_ids` if given)."""
        if step_ids is not None and not step_ids:
            return {}
        return await self._read(self._sql.outputs, run_id, step_ids=step_ids)

    async def get_run(self, run_id: str) -> StoredRun:
        """Return a run with its step runs and attempts."""
        return await self._read(self._sql.get_run, run_id)

    async def list_runs(
        self, *, status: str | None = None, limit: int = 50, where: RunFilter | None = None
    ) -> list[StoredRun]:
        """Return runs, newest first (without their steps)."""
        return await self._read(self._sql.list_runs, status=status, limit=limit, where=where)

    async def cancel(self, run_id: str) -> None:
        """Cancel a pending or running run: nothing more of it is sent or recorded."""
        await self._write(self._sql.cancel, run_id)

    async def read(
        self, call: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `call(connection, ...)` in a read-only transaction, in a reader thread."""
        return await self._read(self._sql.reading, functools.partial(call, **kwargs), *args)

    async def write(
        self, call: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `call(connection, ...)` in a durable write transaction, in a writer thread.

        Writes that arrive while another is committing share the next commit (each in
        its own savepoint): under load, one disk sync serves many API calls.
        """
        return await self._queue(_bound(call, *args, **kwargs), synced=True, savepoint=True)

    async def write_whole(
        self, call: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `write`, without a savepoint of its own: for a call that fails only whole.

        Two statements fewer per call. If `call` raises, the whole group commit is
        rolled back and each of its callers told (`SyncSqlStore.write_batch`).
        """
        return await self._queue(_bound(call, *args, **kwargs), synced=True, savepoint=False)

    async def write_merged(self, merge: Callable[[sa.Connection, list[A]], list[T]], item: A) -> T:
        """Like `write_whole`, made with the group commit's other items of `merge` by one call.

        `merge(connection, items)` returns one result per item, in order: for a write
        many callers make at once (trigger calls), one statement for all (`merged_writes`).
        """
        return await self._queue(Merged(merge, item), synced=True, savepoint=False)

    async def write_unsynced(
        self, call: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `write` (group-committed, in its own savepoint), without asking for a disk sync.

        For admissions (`sql_delivery.py`): many a second, each a few statements on a
        host's row. Sharing a commit with results and claims spares each its own
        transaction (on SQLite, its own turn at the file's write lock). One lost in a
        crash took a slot that expires by itself.
        """
        return await self._queue(_bound(call, *args, **kwargs), synced=False, savepoint=True)

    async def write_alone(
        self, call: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `call(connection, ...)` in a transaction of its own (no group commit), not synced.

        For maintenance (a batch of pruning): it never makes a trigger's commit wait
        for it, and the writes queued meanwhile commit together right after it.
        """
        return await self._write(_alone, self._sql.engine, _bound(call, *args, **kwargs))

    async def _queue(
        self,
        call: Callable[[sa.Connection], T] | Merged[Any, T],
        *,
        synced: bool,
        savepoint: bool,
    ) -> T:
        """Queue `call(connection)` for the next group commit; its result once committed.

        A batch is synced to disk when any call in it asks (a trigger call's runs). A
        call in a `savepoint` that raises is rolled back alone; one without must raise
        before it writes (or fail the whole batch).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queued.append((call, future, synced, savepoint))
        self._drain(loop)
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand queued writes to a writer thread as one batch, if a thread is free."""
        if not self._queued or self._draining >= self._max_draining:
            return
        batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
        self._draining += 1
        # A connection lost mid-batch fails the rest with SQLAlchemy's "can't reconnect
        # until rolled back": the outage a call saw is what every caller is told.
        outages: list[StoreUnavailable] = []
        made = batch_calls([(call, savepoint) for call, _, _, savepoint in batch])
        calls = [(_noting_outages(each.call, outages), each.savepoint) for each in made]
        synced = any(synced for _, _, synced, _ in batch)
        done = loop.run_in_executor(
            self._writes, functools.partial(self._sql.write_batch, calls, synced=synced)
        )
        done.add_done_callback(lambda finished: self._settle(loop, batch, made, finished, outages))

    def _settle(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Queued],
        made: list[BatchCall],
        finished: asyncio.Future[list[tuple[bool, Any]]],
        outages: list[StoreUnavailable],
    ) -> None:
        self._draining -= 1
        failure = None if finished.cancelled() else finished.exception()
        if failure is not None:
            failure = translated(failure)
            if outages and not isinstance(failure, StoreUnavailable):
                outages[0].__cause__ = failure
                failure = outages[0]
        outcomes = finished.result() if not finished.cancelled() and failure is None else []
        for index, call in enumerate(made):
            for position, member in enumerate(call.members):
                future = batch[member][1]
                if future.done():
                    continue  # its caller went away
                if finished.cancelled():
                    future.cancel()
                elif failure is not None:
                    future.set_exception(failure)
                elif not outcomes[index][0]:
                    future.set_exception(translated(outcomes[index][1]))
                elif isinstance(answer := call.answer(outcomes[index][1], position), Refused):
                    future.set_exception(answer.error)
                else:
                    future.set_result(answer)
        self._drain(loop)

    async def run_status(self, run_id: str) -> str:
        """Return a run's status."""
        return await self._read(self._sql.run_status, run_id)

    async def resume(self, run_id: str, *, step_run_id: str) -> None:
        """Resume a failed run from its failed step, as a new step run with a new key."""
        await self._write(self._sql.resume, run_id, step_run_id=step_run_id)

    async def seconds_until_due(self, run_id: str | None = None) -> float | None:
        """Return the seconds until the next due time (of one run if given), or None."""
        return await self._read(self._sql.seconds_until_due, run_id)

    async def worker_seen(self, worker_id: str, *, host: str, pid: int) -> None:
        """Record that a worker is alive (at the database's time)."""
        await self._write(self._sql.worker_seen, worker_id, host=host, pid=pid)

    async def last_worker_seen_at(self) -> float | None:
        """Return when any worker last said it was alive, or None."""
        return await self._read(self._sql.last_worker_seen_at)

    async def seconds_since_worker_seen(self) -> float | None:
        """Return how long ago, by the database's clock, any worker said it was alive."""
        return await self._read(self._sql.seconds_since_worker_seen)


def _noting_outages(
    call: Callable[[sa.Connection], T], outages: list[StoreUnavailable]
) -> Callable[[sa.Connection], T]:
    def noted(conn: sa.Connection) -> T:
        try:
            return call(conn)
        except Exception as exc:
            if (found := unavailable(exc)) is not None:
                outages.append(found)
            raise

    return noted


def _bound(
    call: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
) -> Callable[[sa.Connection], T]:
    """`call` with its arguments, waiting for the connection of a group commit."""

    def bound(conn: sa.Connection) -> T:
        return call(conn, *args, **kwargs)

    return bound


def _alone(engine: sa.Engine, call: Callable[[sa.Connection], T]) -> T:
    with engine.begin() as conn:
        return call(conn)


def _attempt_id() -> str:
    # Ids sort by this process's clock (they order, they decide nothing).
    return new_id("att")


def _answer(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT 1")).scalar_one())


async def open_store(url: DatabaseUrl, *, clock: Clock | None = None) -> SqlStore:
    """Open the store at `url`, its schema brought up to date (see `schema.upgrade`).

    `clock` stands in for the database's clock (tests); None keeps the database's own.
    """
    engine = open_engine(url)
    store = SqlStore(engine, reader=open_reader_engine(url), clock=clock)
    try:
        await upgrade(engine)
    except BaseException:
        await store.close()
        raise
    return store
