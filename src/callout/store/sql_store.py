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

from callout.store.database import DatabaseUrl, open_engine, open_reader_engine
from callout.store.protocol import (
    Claim,
    FinishedAttempt,
    NewRun,
    RunFilter,
    RunInput,
    StoredRun,
)
from callout.store.schema import upgrade
from callout.store.sql_sync import SyncSqlStore

T = TypeVar("T")
P = ParamSpec("P")

POSTGRES_THREADS = 8
"""Concurrent transactions one process runs on PostgreSQL."""

MAX_BATCH = 64
"""Most service writes one commit carries (see `SqlStore.write`)."""


class SqlStore:
    """The `Store` protocol on SQLite or PostgreSQL."""

    def __init__(self, engine: sa.Engine, *, reader: sa.Engine | None = None) -> None:
        self._sql = SyncSqlStore(engine, reader=reader)
        sqlite = engine.dialect.name == "sqlite"
        self._writes = ThreadPoolExecutor(
            max_workers=1 if sqlite else POSTGRES_THREADS, thread_name_prefix="callout-write"
        )
        self._reads = ThreadPoolExecutor(
            max_workers=4 if sqlite else POSTGRES_THREADS, thread_name_prefix="callout-read"
        )
        self._queued: list[tuple[Callable[[sa.Connection], Any], asyncio.Future[Any]]] = []
        self._draining = 0
        self._max_draining = 1 if sqlite else 2  # batches grow while a commit is in flight

    @property
    def engine(self) -> sa.Engine:
        """The engine this store writes through."""
        return self._sql.engine

    async def _write(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writes, functools.partial(call, *args, **kwargs))

    async def _read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, functools.partial(call, *args, **kwargs))

    async def close(self) -> None:
        """Finish queued work and close every connection."""
        await self._write(self._sql.close)
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)

    async def create_run(self, run: NewRun, *, now: float) -> None:
        """Record a run; its first step is due at once. Returns once the run is durable."""
        await self._write(self._sql.create_run, run, now=now)

    async def claim_due(
        self, *, now: float, lease_seconds: float, limit: int, run_id: str | None = None
    ) -> list[Claim]:
        """Lease up to `limit` due step runs (expired leases included), of one run if given."""
        return await self._write(
            self._sql.claim_due, now=now, lease_seconds=lease_seconds, limit=limit, run_id=run_id
        )

    async def run_input(self, run_id: str) -> RunInput:
        """Return the document a run is pinned to, its trigger payload and organization."""
        return await self._read(self._sql.run_input, run_id)

    async def start_attempt(
        self, claim: Claim, *, attempt_id: str, number: int, now: float, lease_until: float
    ) -> None:
        """Record an attempt as `sending` and stretch the lease; fenced by the lease."""
        await self._write(
            self._sql.start_attempt,
            claim,
            attempt_id=attempt_id,
            number=number,
            now=now,
            lease_until=lease_until,
        )

    async def finish_attempt(self, claim: Claim, finished: FinishedAttempt) -> None:
        """Record an attempt's end and move the run on; fenced by the lease."""
        await self._write(self._sql.finish_attempt, claim, finished)

    async def release(self, claim: Claim, *, now: float) -> None:
        """Give a claimed step run back, due at once."""
        await self._write(self._sql.release, claim, now=now)

    async def outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Return the outputs of a run's finished steps, by step id."""
        return await self._read(self._sql.outputs, run_id)

    async def get_run(self, run_id: str) -> StoredRun:
        """Return a run with its step runs and attempts."""
        return await self._read(self._sql.get_run, run_id)

    async def list_runs(
        self, *, status: str | None = None, limit: int = 50, where: RunFilter | None = None
    ) -> list[StoredRun]:
        """Return runs, newest first (without their steps)."""
        return await self._read(self._sql.list_runs, status=status, limit=limit, where=where)

    async def cancel(self, run_id: str, *, now: float) -> None:
        """Cancel a pending or running run: nothing more of it is sent or recorded."""
        await self._write(self._sql.cancel, run_id, now=now)

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
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def bound(conn: sa.Connection) -> T:
            return call(conn, *args, **kwargs)

        self._queued.append((bound, future))
        self._drain(loop)
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand queued writes to a writer thread as one batch, if a thread is free."""
        if not self._queued or self._draining >= self._max_draining:
            return
        batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
        self._draining += 1
        done = loop.run_in_executor(self._writes, self._sql.write_batch, [c for c, _ in batch])
        done.add_done_callback(lambda finished: self._settle(loop, batch, finished))

    def _settle(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[Callable[[sa.Connection], Any], asyncio.Future[Any]]],
        finished: asyncio.Future[list[tuple[bool, Any]]],
    ) -> None:
        self._draining -= 1
        failure = None if finished.cancelled() else finished.exception()
        outcomes = finished.result() if not finished.cancelled() and failure is None else []
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue  # its caller went away
            if finished.cancelled():
                future.cancel()
            elif failure is not None:
                future.set_exception(failure)
            elif outcomes[index][0]:
                future.set_result(outcomes[index][1])
            else:
                future.set_exception(outcomes[index][1])
        self._drain(loop)

    async def run_status(self, run_id: str) -> str:
        """Return a run's status."""
        return await self._read(self._sql.run_status, run_id)

    async def resume(self, run_id: str, *, step_run_id: str, now: float) -> None:
        """Resume a failed run from its failed step, as a new step run with a new key."""
        await self._write(self._sql.resume, run_id, step_run_id=step_run_id, now=now)

    async def next_due_at(self, run_id: str | None = None) -> float | None:
        """Return the earliest due time (of one run if given), or None."""
        return await self._read(self._sql.next_due_at, run_id)

    async def worker_seen(self, worker_id: str, *, host: str, pid: int, now: float) -> None:
        """Record that a worker is alive."""
        await self._write(self._sql.worker_seen, worker_id, host=host, pid=pid, now=now)

    async def last_worker_seen_at(self) -> float | None:
        """Return when any worker last said it was alive, or None."""
        return await self._read(self._sql.last_worker_seen_at)


async def open_store(url: DatabaseUrl) -> SqlStore:
    """Open the store at `url`, its schema brought up to date (see `schema.upgrade`)."""
    engine = open_engine(url)
    store = SqlStore(engine, reader=open_reader_engine(url))
    try:
        await upgrade(engine)
    except BaseException:
        await store.close()
        raise
    return store
