"""Four worker processes on one PostgreSQL database share 1,000 runs, each done once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from callout.engine.starting import start_run
from callout.model.clock import SystemClock
from callout.steps.validation import validate_workflow
from callout.store.sql_store import SqlStore
from callout.store.tables import runs
from support.https_servers import HttpsServer, reply
from support.processes import start_callout, stop_gently
from support.running import workflow_of

pytestmark = pytest.mark.realclock
RUNS = 1000
WORKERS = 4
AT_ONCE = 50
"""Runs started, or read back, at the same time: the store takes them in one commit or in
parallel reads, where one at a time would spend seconds on round trips alone."""


def count_completed(conn: sa.Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(runs).where(runs.c.status == "completed")
        ).scalar_one()
    )


async def test_four_workers_drain_1000_runs_each_exactly_once(
    pg_url: str,
    pg_store: SqlStore,
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
) -> None:
    url, store = pg_url, pg_store
    https_server.script("/users", reply(201, '{"id": "usr_1"}'))
    workflow = validate_workflow(
        workflow_of(
            {
                "id": "a",
                "action": "make_https_request",
                "url": https_server.url("/users"),
                "body": {},
            }
        )
    )
    clock = SystemClock()
    run_ids: list[str] = []
    for _ in range(RUNS // AT_ONCE):
        run_ids += await asyncio.gather(
            *(start_run(store, workflow, {}, clock=clock) for _ in range(AT_ONCE))
        )
    env = {**loopback_env, "CALLOUT_DATABASE_URL": url}
    workers = [
        await start_callout("worker", "--concurrency", "16", env=env, log=tmp_path / f"w{i}.log")
        for i in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 120
        # A count, not the runs: this loop also serves every request the workers send.
        while await store.read(count_completed) < RUNS:
            assert time.monotonic() < deadline, "the workers did not drain the runs in time"
            await asyncio.sleep(0.2)
    finally:
        codes = [await stop_gently(worker) for worker in workers]
    assert codes == [0] * WORKERS
    successes: Counter[str] = Counter()
    recorded = []
    for start in range(0, RUNS, AT_ONCE):
        recorded += await asyncio.gather(
            *(store.get_run(run_id) for run_id in run_ids[start : start + AT_ONCE])
        )
    for run in recorded:
        assert run.status == "completed"
        (step,) = run.steps
        successes[step.id] += sum(a.status == "succeeded" for a in step.attempts)
    assert len(successes) == RUNS
    assert set(successes.values()) == {1}
    keys = Counter(hit.headers["Idempotency-Key"] for hit in https_server.hits)
    assert len(keys) == RUNS
    assert set(keys.values()) == {1}  # no worker crashed here, so nothing was sent twice
