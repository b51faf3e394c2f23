"""Three `callout worker` processes ride out PostgreSQL restarts: alive, resumed, each run once.

The server is a private cluster of this test (`support.private_postgres`), never
the machine's shared one: `pg_ctl restart -m fast`, then stopped for 1.5 s. The
receiver answers after 0.1 s, so attempts are in flight when the server goes:
their results are kept and recorded once it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path

import pytest
import sqlalchemy as sa

from callout.engine.starting import start_run
from callout.model.clock import SystemClock
from callout.steps.validation import validate_workflow
from callout.store import StoredRun
from callout.store.database import database_url
from callout.store.protocol import StoreUnavailable
from callout.store.sql_store import SqlStore, open_store
from callout.store.tables import runs
from support.https_servers import HttpsServer, reply
from support.private_postgres import PrivatePostgres
from support.processes import start_callout, stop_gently
from support.running import workflow_of

pytestmark = pytest.mark.realclock

RUNS = 300
WORKERS = 3
RESUME_WITHIN = 5.0
"""Seconds after the server is back by which the workers must be working again."""


def count_completed(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(runs).where(runs.c.status == "completed")
        ).scalar_one()
    )


async def completed(store: SqlStore) -> int | None:
    """How many runs have completed, or None while the database is out."""
    try:
        return await store.read(count_completed)
    except StoreUnavailable:
        return None


async def wait_until_completed(store: SqlStore, count: int, seconds: float) -> float:
    """Wait until at least `count` runs have completed; return when (monotonic)."""
    deadline = time.monotonic() + seconds
    while (done := await completed(store)) is None or done < count:
        assert time.monotonic() < deadline, f"only {done} of {count} runs completed in time"
        await asyncio.sleep(0.05)
    return time.monotonic()


async def start_runs(store: SqlStore, url: str) -> list[str]:
    workflow = validate_workflow(
        workflow_of({"id": "a", "action": "make_https_request", "url": url, "body": {}})
    )
    clock = SystemClock()
    run_ids: list[str] = []
    for _ in range(RUNS // 20):
        run_ids += await asyncio.gather(
            *(start_run(store, workflow, {}, clock=clock) for _ in range(20))
        )
    return run_ids


def log_lines(path: Path, text: str) -> int:
    return sum(text in line for line in path.read_text(errors="replace").splitlines())


def check_each_run_completed_once(runs: list[StoredRun], server: HttpsServer) -> None:
    """Every run completed with one success; every request sent was recorded as an attempt."""
    keys = Counter(hit.headers["Idempotency-Key"] for hit in server.hits)
    for run in runs:
        assert run.status == "completed", run
        (step,) = run.steps
        statuses = Counter(attempt.status for attempt in step.attempts)
        assert statuses["succeeded"] == 1, statuses
        assert statuses["sending"] == 0, statuses
        # A request sent twice (lease lost) is allowed only if an attempt says so.
        sent = keys[step.id]
        assert 1 <= sent <= len(step.attempts), (sent, statuses)
        assert sent == 1 or statuses["interrupted"] >= 1, (sent, statuses)
    assert sum(keys.values()) == len(server.hits)
    assert set(keys) == {run.steps[0].id for run in runs}


async def ride_out(
    name: str, outage: Awaitable[None], store: SqlStore, server: HttpsServer
) -> None:
    """Cause `outage` while the workers drain; assert they send and record again within 5 s."""
    await outage
    back = time.monotonic()
    before = await completed(store)
    assert before is not None
    assert before < RUNS, f"{name}: the runs were drained before the server came back"
    recorded = await wait_until_completed(store, before + 1, RESUME_WITHIN + 5)
    assert recorded - back < RESUME_WITHIN, (name, recorded - back)
    while not any(hit.at > back for hit in server.hits):
        assert time.monotonic() - back < RESUME_WITHIN, f"{name}: nothing sent since it is back"
        await asyncio.sleep(0.02)


async def down_for(server: PrivatePostgres, seconds: float) -> None:
    await server.stop()
    await asyncio.sleep(seconds)
    await server.start()


async def test_three_workers_ride_out_postgres_restarts_and_each_run_completes_once(
    private_pg: PrivatePostgres,
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
) -> None:
    https_server.script("/users", reply(201, '{"id": "usr_1"}', delay=0.1))
    store = await open_store(database_url(private_pg.url))
    try:
        run_ids = await start_runs(store, https_server.url("/users"))
        env = {**loopback_env, "CALLOUT_DATABASE_URL": private_pg.url}
        logs = [tmp_path / f"worker{i}.log" for i in range(WORKERS)]
        workers = [
            await start_callout(
                "worker",
                "--concurrency",
                "4",
                "--lease-margin",
                "5",
                "--grace",
                "2",
                env=env,
                log=log,
            )
            for log in logs
        ]
        try:
            await wait_until_completed(store, RUNS // 4, 120.0)
            await ride_out("pg_ctl restart -m fast", private_pg.restart(), store, https_server)
            assert [worker.returncode for worker in workers] == [None] * WORKERS
            await wait_until_completed(store, RUNS // 2, 60.0)
            # A longer outage: every part of each worker meets it, and waits on its backoff.
            await ride_out("down 1.5 s", down_for(private_pg, 1.5), store, https_server)
            assert [worker.returncode for worker in workers] == [None] * WORKERS
            await wait_until_completed(store, RUNS, 60.0)
        finally:
            codes = [await stop_gently(worker) for worker in workers]
        assert codes == [0] * WORKERS
        check_each_run_completed_once(
            [await store.get_run(run_id) for run_id in run_ids], https_server
        )
        for log in logs:
            # One line when the database went and one when it came back, per outage:
            # not one per retry.
            text = log.read_text()
            assert log_lines(log, "the database is unavailable") == 2, text
            assert log_lines(log, "the database is back") == 2, text
            assert "Traceback" not in text
    finally:
        await store.close()
