"""The circuit breaker across real `callout worker` processes: open, wait, probe, close.

A loopback HTTPS server answers 503 to everything. After five failures in a row
the host's breaker opens; the step runs then wait as `pending` (not failed, and
without using their retries) while one probe at a time is sent, each pause
doubling from the organization's 0.3 s. When the server recovers, a probe
succeeds, the breaker closes, and every run completes, each step run delivered
once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callout.store.delivery import BreakerState, HostLimit, HostState
from callout.store.encryption import new_key_text
from callout.store.sql_store import SqlStore
from support.host_traffic import HostTraffic, OrgRuns, start_workers, stop_workers
from support.https_servers import HttpsServer
from support.polling import eventually

pytestmark = pytest.mark.realclock

HOST = "127.0.0.1"
RUNS = 20
STARTUP = 30.0
"""Seconds two worker processes may take to start on a busy machine."""
RETRY_INTERVALS = [1, 1, 1, 1, 1]
"""Six attempts per step run: without the breaker, the 503s would use them all in ~5 s."""


async def host_state(store: SqlStore, org_id: str) -> HostState | None:
    found = {state.host: state for state in await store.delivery.host_states(org_id=org_id)}
    return found.get(HOST)


async def test_an_open_breaker_holds_runs_without_using_retries_until_a_probe_succeeds(
    pg_url: str,
    pg_store: SqlStore,
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
) -> None:
    store = pg_store
    traffic = HostTraffic(hold=0.0, status=503)
    https_server.script("/orders", traffic)
    org = await OrgRuns.create(store)
    await store.delivery.set_host_limit(HostLimit(org_id=org.org_id, host=HOST, breaker_pause=0.3))
    await org.start(RUNS, https_server.url("/orders"), retry_intervals=RETRY_INTERVALS)
    env = {**loopback_env, "CALLOUT_DATABASE_URL": pg_url, "CALLOUT_SECRET_KEY": new_key_text()}
    workers = await start_workers(2, env, tmp_path, concurrency=8)
    try:

        async def opened() -> bool:
            state = await host_state(store, org.org_id)
            return state is not None and state.breaker is not BreakerState.CLOSED

        # The workers start first: seconds on a busy machine.
        await eventually(opened, "the breaker to open", seconds=STARTUP + 10, every=0.02)
        state = await host_state(store, org.org_id)
        assert state is not None
        assert state.consecutive_failures >= 5
        assert state.last_error == "http_status 503"
        assert state.opened_at is not None

        async def held_back() -> bool:
            waiting = [
                step
                for run in await org.runs()
                for step in run.steps
                if step.status == "pending" and step.wait_reason
            ]
            return len(waiting) >= RUNS // 2

        # The breaker holds the runs: pending with the reason, one probe at a time.
        await eventually(held_back, "runs to wait for the paused host", seconds=10, every=0.02)
        paused = await store.delivery.paused_hosts()
        assert [(one.org_id, one.host) for one in paused] == [(org.org_id, HOST)]
        runs = await org.runs()
        reasons = {step.wait_reason for run in runs for step in run.steps if step.wait_reason}
        assert any(f"{HOST} is paused" in reason for reason in reasons), reasons
        assert not [run.id for run in runs if run.status == "failed"]
        budget = len(RETRY_INTERVALS) + 1
        assert max(len(step.attempts) for run in runs for step in run.steps) < budget
        sent_while_failing = len(traffic.answered)

        traffic.status = 200  # the partner recovers: the next probe succeeds

        async def all_completed() -> bool:
            return all(run.status == "completed" for run in await org.runs())

        await eventually(all_completed, "every run to complete", seconds=20, every=0.05)
    finally:
        codes = await stop_workers(workers)
    assert codes == [0, 0]
    state = await host_state(store, org.org_id)
    assert state is None or (state.breaker, state.consecutive_failures) == (
        BreakerState.CLOSED,
        0,
    )
    assert await store.delivery.paused_hosts() == []
    # While the host failed, only the first wave (before the breaker opened and every
    # worker's cache saw it) and the probes reached it: not six attempts per run.
    assert sent_while_failing < RUNS + 8
    delivered = traffic.keys(status=200)
    assert len(delivered) == RUNS
    assert set(delivered.values()) == {1}  # each step run delivered exactly once
    for run in await org.runs():
        (step,) = run.steps
        assert step.attempts[-1].status == "succeeded"
        assert len(step.attempts) < len(RETRY_INTERVALS) + 1
