"""A worker whose clock is a minute ahead, beside one whose clock is right.

The database's clock decides what is due and when a lease runs out, and stamps
every record (PostgreSQL's `now()`; SQLite's host clock; the in-memory store's
own). Each test runs on SQLite, PostgreSQL and the in-memory store, against a
real HTTPS server on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from callout.engine.executor import StepExecutor
from callout.engine.starting import start_run
from callout.engine.worker import Worker
from callout.http import AiohttpTransport
from callout.model.clock import Clock, SystemClock
from callout.steps.validation import validate_workflow
from callout.store import Store, StoredRun
from callout.store.database import database_url
from callout.store.memory import MemoryStore
from callout.store.sql_store import SqlStore, open_store
from support.databases import POSTGRES_ENV, postgres_admin_url
from support.https_servers import HttpsServer, reply
from support.migrated_databases import migrated_database
from support.running import workflow_of
from support.services import skip_or_fail
from support.workers import worker_running

pytestmark = pytest.mark.realclock

SKEW = 60.0
RETRY = 1.0  # the 8 s retry, shrunk to keep the test fast


class SkewedClock:
    """The real clock moved `ahead` seconds forward, as on a machine whose time is wrong."""

    def __init__(self, ahead: float) -> None:
        self.ahead = ahead

    def now(self) -> float:
        """Return the wrong time."""
        return time.time() + self.ahead

    async def sleep(self, seconds: float) -> None:
        """Wait for real: a wrong clock still measures durations right."""
        await asyncio.sleep(max(0.0, seconds))


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
async def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """One store both workers use, keeping the database's own time (no clock handed in)."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore()
        return
    if kind == "postgresql" and postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with migrated_database(kind, tmp_path, admin=postgres_admin_url()) as url:
        real = await open_store(database_url(url))
        try:
            yield real
        finally:
            await real.close()


def database_time(store: Store) -> float:
    """The database's time now: PostgreSQL's server clock, else this host's."""
    if isinstance(store, SqlStore) and store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            query = sa.text("SELECT extract(epoch from clock_timestamp())")
            return float(conn.execute(query).scalar_one())
    return time.time()


def running(
    store: Store, transport: AiohttpTransport, clock: Clock, *, lease_margin: float = 30.0
) -> contextlib.AbstractAsyncContextManager[Worker]:
    """A worker on `clock` for the block (its clock times the attempt and signs)."""
    executor = StepExecutor(store=store, transport=transport, clock=clock)
    return worker_running(
        Worker(
            store=store,
            executor=executor,
            clock=clock,
            poll_interval=0.05,
            lease_margin=lease_margin,
        )
    )


async def until(store: Store, run_id: str, done: Callable[[StoredRun], bool]) -> StoredRun:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run = await store.get_run(run_id)
        if done(run):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} never got there: {await store.get_run(run_id)}")


async def start(store: Store, url: str, **config: Any) -> str:
    document = workflow_of({"id": "a", "action": "make_https_request", "url": url, **config})
    # Started from a machine whose clock is wrong too: only the id sorts by it.
    return await start_run(store, validate_workflow(document), {}, clock=SkewedClock(SKEW))


def assert_database_times(run: StoredRun, before: float, after: float) -> None:
    """Every time the run's records carry is the database's, none a minute ahead."""
    stamps = [run.created_at, run.updated_at]
    for step in run.steps:
        for sent in step.attempts:
            assert sent.ended_at is not None
            stamps += [sent.started_at, sent.ended_at]
    assert run.finished_at is not None
    stamps.append(run.finished_at)
    assert all(before <= stamp <= after for stamp in stamps), (before, stamps, after)


@pytest.mark.parametrize("first", ["right", "ahead"])
async def test_a_retry_fires_at_its_due_time_whichever_worker_clock_is_ahead(
    shared_store: Store, https_server: HttpsServer, transport: AiohttpTransport, first: str
) -> None:
    store = shared_store
    right, ahead = SystemClock(), SkewedClock(SKEW)
    clocks = (right, ahead) if first == "right" else (ahead, right)
    https_server.script("/flaky", reply(503), reply(200))
    before = database_time(store)
    run_id = await start(store, https_server.url("/flaky"), body={}, retry_intervals=[RETRY])
    # One worker makes the first attempt; the other, whose clock differs by a
    # minute, is the only one left to send the retry.
    async with running(store, transport, clocks[0]):
        await until(store, run_id, lambda run: run.steps[0].status == "waiting")
    async with running(store, transport, clocks[1]):
        run = await until(store, run_id, lambda run: run.status == "completed")
    after = database_time(store)

    first_hit, second_hit = https_server.hits_on("/flaky")
    gap = second_hit.at - first_hit.at
    assert RETRY - 0.05 <= gap < RETRY + 1.5, gap  # not 0.4 s early, not a minute late
    failed, succeeded = run.steps[0].attempts
    assert (failed.status, succeeded.status) == ("failed", "succeeded")
    assert failed.ended_at is not None
    assert failed.next_attempt_at == failed.ended_at + RETRY  # due by the database's clock
    assert succeeded.started_at >= failed.next_attempt_at
    assert_database_times(run, before, after)


async def test_a_worker_clock_ahead_takes_over_no_attempt_inside_its_lease(
    shared_store: Store, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    store = shared_store
    # The attempt holds its lease for timeout + margin = 3 s from its start; the
    # server answers after 1.5 s. A clock 60 s ahead would read the lease as long gone.
    https_server.script("/slow", reply(200, delay=1.5))
    before = database_time(store)
    run_id = await start(store, https_server.url("/slow"), method="GET", timeout=2)
    async with running(store, transport, SystemClock(), lease_margin=1.0):
        while not https_server.hits:
            await asyncio.sleep(0.01)
        async with running(store, transport, SkewedClock(SKEW), lease_margin=1.0):
            run = await until(store, run_id, lambda run: run.status == "completed")
            await asyncio.sleep(0.3)  # room for a wrongful take-over to show
    after = database_time(store)

    assert len(https_server.hits_on("/slow")) == 1  # sent once: nobody took it over
    run = await store.get_run(run_id)
    [step] = run.steps
    assert [a.status for a in step.attempts] == ["succeeded"]
    assert step.interruptions == 0
    assert_database_times(run, before, after)
