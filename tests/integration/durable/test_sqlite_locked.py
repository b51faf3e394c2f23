"""SQLite locked past its busy timeout: the store says `StoreUnavailable`, and workers wait it out.

Another connection holds the write lock (as another process would: a backup,
a second `callout serve` on the same file), and the store's busy timeout is
shrunk to 0.1 s (`CALLOUT_SQLITE_BUSY_TIMEOUT`), so each write gives up quickly.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web

from callout.cli.worker import heartbeat
from callout.engine.executor import StepExecutor
from callout.engine.starting import start_run
from callout.engine.worker import Worker
from callout.http import AiohttpTransport
from callout.model.clock import SystemClock
from callout.model.plans import Plan
from callout.steps.validation import validate_workflow
from callout.store.database import database_url
from callout.store.organizations import create_organization
from callout.store.outage import Backoff, StoreOutage
from callout.store.protocol import Claim, StoreUnavailable
from callout.store.sql_store import SqlStore, open_store
from support.https_servers import HttpsServer, Responder
from support.polling import eventually
from support.running import workflow_of

pytestmark = pytest.mark.realclock

BUSY_TIMEOUT = "0.1"
QUICK = Backoff(first=0.05, cap=0.2)
"""Waits short enough for a test of a few seconds (the policy itself is the same)."""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "callout.db"


@pytest.fixture
async def locked_store(db_path: Path) -> AsyncIterator[SqlStore]:
    """A store on a fresh SQLite file whose statements wait 0.1 s for a lock, not 10 s."""
    store = await open_store(
        database_url(str(db_path), environ={"CALLOUT_SQLITE_BUSY_TIMEOUT": BUSY_TIMEOUT})
    )
    yield store
    await store.close()


@contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock on `path` from a connection of its own (as another process)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


async def one_run(store: SqlStore, url: str) -> str:
    workflow = validate_workflow(
        workflow_of({"id": "a", "action": "make_https_request", "url": url, "body": {}})
    )
    return await start_run(store, workflow, {}, clock=SystemClock())


def failures_of_claims(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> list[StoreUnavailable]:
    """Keep each `StoreUnavailable` the store's claims raise from now on (they still raise)."""
    failed: list[StoreUnavailable] = []
    claim_due = store.claim_due

    async def counted(
        *, lease_seconds: float, limit: int, run_id: str | None = None
    ) -> list[Claim]:
        try:
            return await claim_due(lease_seconds=lease_seconds, limit=limit, run_id=run_id)
        except StoreUnavailable as exc:
            failed.append(exc)
            raise

    monkeypatch.setattr(store, "claim_due", counted)
    return failed


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """How many times the log said the database went away, and came back."""
    messages = [record.getMessage() for record in caplog.records]
    return (
        sum("the database is unavailable" in message for message in messages),
        sum("the database is back" in message for message in messages),
    )


async def test_a_write_past_the_busy_timeout_is_store_unavailable_and_works_after(
    locked_store: SqlStore, db_path: Path
) -> None:
    store = locked_store
    with write_lock(db_path):
        with pytest.raises(StoreUnavailable, match="database is locked"):
            await store.claim_due(lease_seconds=5, limit=1)
        with pytest.raises(StoreUnavailable, match="database is locked"):
            await store.write(create_organization, name="Acme", plan=Plan.GROWTH, now=time.time())
        assert await store.seconds_until_due() is None  # reads do not need the lock
    assert await store.claim_due(lease_seconds=5, limit=1) == []
    org, _ = await store.write(create_organization, name="Acme", plan=Plan.GROWTH, now=time.time())
    assert org.name == "Acme"


async def test_a_worker_waits_out_a_locked_database_logs_once_and_resumes(
    locked_store: SqlStore,
    db_path: Path,
    https_server: HttpsServer,
    transport: AiohttpTransport,
    caplog: pytest.LogCaptureFixture,
    *,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="callout")
    store = locked_store
    run_id = await one_run(store, https_server.url("/users"))
    failed = failures_of_claims(store, monkeypatch)
    executor = StepExecutor(store=store, transport=transport, outage=StoreOutage(QUICK))
    worker = Worker(store=store, executor=executor, poll_interval=0.02)
    stop = asyncio.Event()
    with write_lock(db_path):
        working = asyncio.create_task(worker.run(stop))
        # Several claims fail, each after the busy timeout (however slow this machine is).
        await eventually(lambda: len(failed) >= 3, "three claims to fail", seconds=10.0, every=0.02)
        assert not working.done()
        assert https_server.hits == []
        assert outage_lines(caplog) == (1, 0)
    released = time.monotonic()
    await eventually(
        lambda: _status_is(store, run_id, "completed"),
        "the run to complete",
        seconds=5.0,
        every=0.02,
    )
    resumed = time.monotonic() - released
    stop.set()
    await working
    assert len(https_server.hits) == 1
    assert outage_lines(caplog) == (1, 1)
    assert resumed < 2.0, resumed


async def _status_is(store: SqlStore, run_id: str, status: str) -> bool:
    return await store.run_status(run_id) == status


async def test_a_claim_that_cannot_be_recorded_sends_nothing_and_stays_due(
    locked_store: SqlStore, db_path: Path, https_server: HttpsServer
) -> None:
    """The claim records the attempt as `sending`: refused, nothing is held and nothing sent."""
    store = locked_store
    run_id = await one_run(store, https_server.url("/users"))
    with write_lock(db_path), pytest.raises(StoreUnavailable):
        await store.claim_due(lease_seconds=30, limit=1)
    run = await store.get_run(run_id)
    (step,) = run.steps
    assert (step.status, step.attempts) == ("pending", ())
    assert await store.seconds_until_due() == 0
    (claim,) = await store.claim_due(lease_seconds=30, limit=1)
    assert (claim.step_run_id, claim.next_number) == (step.id, 1)


async def claimed(store: SqlStore, url: str) -> Claim:
    await one_run(store, url)
    (claim,) = await store.claim_due(lease_seconds=30, limit=1)
    return claim


def locking_reply(db_path: Path, held: list[sqlite3.Connection]) -> Responder:
    """Take the database's write lock as the request arrives, then answer 201."""

    async def respond(_: web.Request) -> web.StreamResponse:
        conn = sqlite3.connect(db_path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.append(conn)
        return web.Response(status=201, text='{"id": "usr_1"}', content_type="application/json")

    return respond


def release(held: list[sqlite3.Connection], *, take_over: str | None = None) -> None:
    """Release the lock taken by `locking_reply`; first steal the lease of `take_over` if given."""
    (conn,) = held
    if take_over is not None:
        # What a worker that claimed the expired lease would do: a new token.
        conn.execute(
            "UPDATE step_runs SET lease_token = 'another-worker' WHERE id = ?", (take_over,)
        )
        conn.execute("COMMIT")
    else:
        conn.execute("ROLLBACK")
    conn.close()


async def sending_under_a_lock(
    store: SqlStore, db_path: Path, server: HttpsServer, transport: AiohttpTransport
) -> tuple[Claim, asyncio.Task[bool], list[sqlite3.Connection]]:
    """Execute a claimed step whose request takes the write lock as it arrives.

    Return the claim, the attempt executing, and the connection holding the lock
    once the attempt has tried to record its result and failed: it keeps it meanwhile.
    """
    held: list[sqlite3.Connection] = []
    server.script("/users", locking_reply(db_path, held))
    claim = await claimed(store, server.url("/users"))
    outage = StoreOutage(QUICK)
    executor = StepExecutor(store=store, transport=transport, outage=outage)
    executing = asyncio.create_task(executor.execute(claim))
    await eventually(lambda: bool(held), "the request", seconds=5.0, every=0.02)
    await eventually(lambda: outage.down, "the attempt's finish to fail", seconds=5.0, every=0.02)
    return claim, executing, held


async def test_a_finished_attempt_is_kept_and_recorded_once_the_database_is_back(
    locked_store: SqlStore, db_path: Path, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    store = locked_store
    claim, executing, held = await sending_under_a_lock(store, db_path, https_server, transport)
    assert not executing.done()
    (attempt,) = (await store.get_run(claim.run_id)).steps[0].attempts
    assert attempt.status == "sending"
    release(held)
    await asyncio.wait_for(executing, 5.0)
    run = await store.get_run(claim.run_id)
    assert run.status == "completed"
    (attempt,) = run.steps[0].attempts
    assert attempt.status == "succeeded"
    assert attempt.http_status == 201
    assert len(https_server.hits) == 1


async def test_a_kept_result_whose_lease_was_taken_over_is_refused_by_the_fence(
    locked_store: SqlStore,
    db_path: Path,
    https_server: HttpsServer,
    transport: AiohttpTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = locked_store
    claim, executing, held = await sending_under_a_lock(store, db_path, https_server, transport)
    release(held, take_over=claim.step_run_id)
    await asyncio.wait_for(executing, 5.0)
    assert "taken over; result not recorded" in caplog.text
    run = await store.get_run(claim.run_id)
    assert run.status == "running"
    (attempt,) = run.steps[0].attempts
    assert attempt.status == "sending"  # the new owner's claim marks it interrupted


async def test_the_heartbeat_waits_out_a_locked_database_and_beats_again(
    locked_store: SqlStore, db_path: Path
) -> None:
    store = locked_store
    stop = asyncio.Event()
    outage = StoreOutage(QUICK)
    beating = asyncio.create_task(heartbeat(store, "wrk_test", stop, outage=outage, every=0.05))
    await eventually(
        lambda: _seen_after(store, 0.0), "the first heartbeat", seconds=5.0, every=0.02
    )
    with write_lock(db_path):
        await eventually(lambda: outage.down, "a heartbeat to fail", seconds=5.0, every=0.02)
        assert not beating.done()
        seen_during = await store.last_worker_seen_at()
    released = time.time()
    await eventually(
        lambda: _seen_after(store, released), "a heartbeat after the lock", seconds=3.0, every=0.02
    )
    assert seen_during is not None
    assert seen_during < released
    stop.set()
    await asyncio.wait_for(beating, 2.0)


async def _seen_after(store: SqlStore, moment: float) -> bool:
    seen = await store.last_worker_seen_at()
    return seen is not None and seen >= moment
