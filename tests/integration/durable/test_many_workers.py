"""Four worker processes on one PostgreSQL database share 1,000 runs, each done once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from callout.engine.starting import start_run
from callout.model.clock import SystemClock
from callout.steps.validation import validate_workflow
from callout.store.sql_store import SqlStore
from support.https_servers import HttpsServer, reply
from support.processes import start_callout, stop_gently
from support.running import workflow_of

pytestmark = pytest.mark.realclock
RUNS = 1000
WORKERS = 4


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
    run_ids = [await start_run(store, workflow, {}, clock=clock) for _ in range(RUNS)]
    env = {**loopback_env, "CALLOUT_DATABASE_URL": url}
    workers = [
        await start_callout("worker", "--concurrency", "16", env=env, log=tmp_path / f"w{i}.log")
        for i in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(await store.list_runs(status="completed", limit=RUNS + 1)) < RUNS:
            assert time.monotonic() < deadline, "the workers did not drain the runs in time"
            await asyncio.sleep(0.2)
    finally:
        codes = [await stop_gently(worker) for worker in workers]
    assert codes == [0] * WORKERS
    successes: Counter[str] = Counter()
    for run_id in run_ids:
        run = await store.get_run(run_id)
        assert run.status == "completed"
        (step,) = run.steps
        successes[step.id] += sum(a.status == "succeeded" for a in step.attempts)
    assert len(successes) == RUNS
    assert set(successes.values()) == {1}
    keys = Counter(hit.headers["Idempotency-Key"] for hit in https_server.hits)
    assert len(keys) == RUNS
    assert set(keys.values()) == {1}  # no worker crashed here, so nothing was sent twice
