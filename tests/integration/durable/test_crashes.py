"""Crashes with real processes: `kill -9` a `callout worker` and no run is lost.

The worker runs as a subprocess against a real database; the HTTPS server
runs in the test. Leases are short (`--lease-margin 1`) so takeovers happen
within seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from callout.engine.starting import start_run
from callout.model.clock import SystemClock
from callout.steps.validation import validate_workflow
from callout.store.sql_store import SqlStore
from callout.store.tables import runs
from support.https_servers import HttpsServer, reply
from support.processes import kill_hard, start_callout, stop_gently, wait_for_line
from support.running import workflow_of

pytestmark = pytest.mark.realclock


def worker_env(db_url: str, loopback_env: dict[str, str]) -> dict[str, str]:
    return {**loopback_env, "CALLOUT_DATABASE_URL": db_url}


async def start_worker(
    db_url: str, loopback_env: dict[str, str], tmp_path: Path, concurrency: int = 16
) -> asyncio.subprocess.Process:
    return await start_callout(
        "worker",
        "--lease-margin",
        "1",
        "--concurrency",
        str(concurrency),
        "--grace",
        "2",
        env=worker_env(db_url, loopback_env),
        log=tmp_path / "worker.log",
    )


async def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def start(store: SqlStore, url: str, **config: Any) -> str:
    document = workflow_of({"id": "a", "action": "make_https_request", "url": url, **config})
    return await start_run(store, validate_workflow(document), {}, clock=SystemClock())


async def test_kill_during_a_retry_wait_keeps_the_original_due_time(
    store: SqlStore,
    db_url: str,
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
) -> None:
    interval = 8.0
    https_server.script("/flaky", reply(503), reply(200))
    run_id = await start(store, https_server.url("/flaky"), body={}, retry_intervals=[interval])
    worker = await start_worker(db_url, loopback_env, tmp_path)

    async def waiting() -> bool:
        run = await store.get_run(run_id)
        return run.steps[0].status == "waiting"

    await wait_for(waiting, 20, "the first attempt to fail")
    await kill_hard(worker)
    # Restart at least 1.5 s after the first attempt, so a timer reset by the restart
    # would fire visibly late.
    (first,) = https_server.hits_on("/flaky")
    await asyncio.sleep(max(0.0, first.at + 1.5 - time.monotonic()))
    worker = await start_worker(db_url, loopback_env, tmp_path)
    try:
        # The second worker is up (its start-up time varies with the machine's load)...
        await wait_for_line(tmp_path / "worker.log", " started (concurrency", count=2)
        restarted = time.monotonic()
        assert restarted - first.at < interval - 1.0, "the worker started too late to tell"
        await wait_for(lambda: _status_is(store, run_id, "completed"), 20, "the run to complete")
    finally:
        assert await stop_gently(worker) == 0
    first, second = https_server.hits_on("/flaky")
    # The retry fires `interval` after the first attempt, not after the restart (which
    # came restarted - first.at later, so a reset timer would fire that much later).
    assert second.at - first.at == pytest.approx(interval, abs=0.6)
    assert second.at - restarted < interval - 0.6


async def _status_is(store: SqlStore, run_id: str, status: str) -> bool:
    return await store.run_status(run_id) == status


async def test_kill_after_the_server_answered_sends_again_with_the_same_key(
    store: SqlStore,
    db_url: str,
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
) -> None:
    worker: asyncio.subprocess.Process | None = None

    async def answer_then_kill(request: web.Request) -> web.StreamResponse:
        # The server does the work and answers 200, but the worker dies before it can
        # record the result: the last byte of the body never reaches it.
        body = b'{"id": "usr_1"}'
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
        )
        await response.prepare(request)
        await response.write(body[:-1])
        assert worker is not None
        await kill_hard(worker)
        return response

    https_server.script("/users", answer_then_kill, reply(200, '{"id": "usr_1"}'))
    run_id = await start(store, https_server.url("/users"), body={}, timeout=2)
    worker = await start_worker(db_url, loopback_env, tmp_path)
    await wait_for(lambda: _hit(https_server), 20, "the first request")
    await worker.wait()
    worker = await start_worker(db_url, loopback_env, tmp_path)
    try:
        await wait_for(lambda: _status_is(store, run_id, "completed"), 20, "the run to complete")
    finally:
        assert await stop_gently(worker) == 0
    first, second = https_server.hits_on("/users")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    run = await store.get_run(run_id)
    assert [a.status for a in run.steps[0].attempts] == ["interrupted", "succeeded"]


async def _hit(server: HttpsServer) -> bool:
    return bool(server.hits)


def count_completed(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(runs).where(runs.c.status == "completed")
        ).scalar_one()
    )


async def test_kill_in_the_middle_of_a_batch_of_200_runs_loses_none(
    store: SqlStore,
    db_url: str,
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
) -> None:
    https_server.script("/batch", reply(200, delay=0.02))
    # Started 50 at a time: the store takes each 50 in one commit.
    run_ids: list[str] = []
    for _ in range(4):
        run_ids += await asyncio.gather(
            *(start(store, https_server.url("/batch"), body={}, timeout=2) for _ in range(50))
        )
    worker = await start_worker(db_url, loopback_env, tmp_path, concurrency=8)

    async def some_done() -> bool:
        return len(https_server.hits) >= 50

    await wait_for(some_done, 30, "50 requests")
    await kill_hard(worker)
    worker = await start_worker(db_url, loopback_env, tmp_path, concurrency=8)
    try:

        async def all_done() -> bool:
            # A count, not the runs: this loop also serves every request the worker sends.
            return await store.read(count_completed) == 200

        await wait_for(all_done, 60, "all 200 runs to complete")
    finally:
        assert await stop_gently(worker) == 0
    successes: Counter[str] = Counter()
    for run in await asyncio.gather(*(store.get_run(run_id) for run_id in run_ids)):
        assert run.status == "completed"
        for step in run.steps:
            successes[step.id] += sum(a.status == "succeeded" for a in step.attempts)
    assert len(successes) == 200
    assert set(successes.values()) == {1}
    keys = Counter(hit.headers["Idempotency-Key"] for hit in https_server.hits)
    assert set(keys) == set(successes)  # every step run reached the server, duplicates only by key
