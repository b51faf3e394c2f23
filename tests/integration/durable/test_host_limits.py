"""Per-host limits hold across real `callout worker` processes sharing one database.

A loopback HTTPS server plays two partners' APIs (one path each), noting for
each the most requests it had at once and when each arrived. Two organizations
call it at host 127.0.0.1: one limits it to 5 requests in flight (each held
200 ms), the other to 20 a second after a burst of 4. Limits are an
organization's own, so the same workers serve both at once; each worker has
more slots than either limit, so only the database can make them share it.
Held-back step runs wait as `pending` with the reason, and a deferral is never
recorded as an attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callout.store.database import database_url
from callout.store.delivery import HostLimit
from callout.store.encryption import new_key_text
from callout.store.protocol import StoredRun
from callout.store.sql_store import SqlStore, open_store
from support.databases import POSTGRES_ENV, fresh_database, postgres_admin_url
from support.host_traffic import HostTraffic, OrgRuns, start_workers, stop_workers
from support.https_servers import HttpsServer
from support.services import skip_or_fail

pytestmark = pytest.mark.realclock

HOST = "127.0.0.1"
IN_FLIGHT, HELD = 5, 60
RATE, BURST, RATE_RUNS = 20.0, 4, 40
HOLD = 0.2
"""Seconds the server holds each request of the in-flight partner: long enough that five
admitted together overlap even when TLS handshakes on a busy machine spread them out."""
JITTER = 0.4
"""Seconds a request may arrive late after the database gave it its turn (a busy machine:
the first arrival, which anchors the count, may wait for a TLS handshake while later ones
reuse connections). Without the limit all 40 arrive within ~0.1 s, far past this bound; the
bucket paying intervals out twice (tests/unit/store/test_rate_bucket.py) put 28 in 0.8 s."""
DEADLINE = 40.0
"""Seconds the workers may take to start and complete every run (about 5 on a quiet machine)."""


@pytest.fixture(params=[("postgresql", 2), ("sqlite", 1)], ids=["postgresql-2", "sqlite-1"])
async def shared(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, SqlStore, int]]:
    """A fresh database, this test's store on it, and how many workers share it."""
    kind, workers = request.param
    if kind == "postgresql" and postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with fresh_database(kind, tmp_path) as url:
        store = await open_store(database_url(url))
        try:
            yield url, store, workers
        finally:
            await store.close()


def held_back(run: StoredRun) -> str | None:
    """What a run shows while delivery control holds its step back (None: it is not held)."""
    (step,) = run.steps
    if step.status == "pending" and step.wait_reason is not None:
        return f"run {run.status}, step pending: {step.wait_reason}"
    return None


async def test_in_flight_and_rate_limits_hold_across_workers_and_each_run_is_sent_once(
    shared: tuple[str, SqlStore, int],
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
) -> None:
    url, store, count = shared
    slow, paced = HostTraffic(hold=HOLD), HostTraffic(hold=0.0)
    https_server.script("/slow", slow)
    https_server.script("/paced", paced)
    limited = await OrgRuns.create(store)
    await store.delivery.set_host_limit(
        HostLimit(org_id=limited.org_id, host=HOST, max_in_flight=IN_FLIGHT)
    )
    rated = await OrgRuns.create(store)
    await store.delivery.set_host_limit(
        HostLimit(org_id=rated.org_id, host=HOST, rate_per_second=RATE, burst=BURST)
    )
    await limited.start(HELD, https_server.url("/slow"))
    await rated.start(RATE_RUNS, https_server.url("/paced"))
    env = {**loopback_env, "CALLOUT_DATABASE_URL": url, "CALLOUT_SECRET_KEY": new_key_text()}
    workers = await start_workers(count, env, tmp_path, concurrency=16)
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            runs = [*await limited.runs(), *await rated.runs()]
            seen.update(shown for run in runs if (shown := held_back(run)) is not None)
            assert not [run.id for run in runs if run.status == "failed"]
            if all(run.status == "completed" for run in runs):
                break
            assert time.monotonic() < deadline, [run.status for run in runs]
            await asyncio.sleep(0.05)
    finally:
        codes = await stop_workers(workers)
    assert codes == [0] * count

    # In flight: never more than the limit, and the limit reached.
    assert slow.most_at_once == IN_FLIGHT
    # Rate: by the n-th arrival, at most the burst plus the rate times the time since the
    # first (with the arrival's jitter); and the rate was the bound, not something slower.
    first = paced.answered[0].at
    for number, one in enumerate(paced.answered, start=1):
        assert number <= BURST + RATE * (one.at - first + JITTER), (number, one.at - first)
    assert paced.answered[-1].at - first < (RATE_RUNS - BURST) / RATE + 3.0

    # Each step run sent exactly once: a deferral sends nothing and records no attempt.
    for traffic, runs_of in ((slow, limited), (paced, rated)):
        keys = traffic.keys()
        assert len(keys) == len(runs_of.run_ids)
        assert set(keys.values()) == {1}
        for run in await runs_of.runs():
            (step,) = run.steps
            assert [(a.number, a.status) for a in step.attempts] == [(1, "succeeded")]
            assert step.wait_reason is None
    # While held back, a run that has sent nothing is pending, with the reason.
    pending = "run pending, step pending"
    slot = f"{pending}: waiting for a slot: at most 5 requests in flight to {HOST}"
    turn = f"{pending}: waiting for its turn: at most 20 requests a second to {HOST}"
    assert slot in seen, seen
    assert seen <= {slot, turn}, seen
    for org in (limited, rated):
        for state in await store.delivery.host_states(org_id=org.org_id):
            assert (state.in_flight, state.waiting) == (0, 0)  # every slot released
