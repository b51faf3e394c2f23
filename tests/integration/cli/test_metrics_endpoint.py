"""`/metrics` of real processes: serve's API and worker child added up, api and worker apart.

Runs are triggered over HTTP and delivered to a loopback HTTPS server; the
numbers are read back the way Prometheus reads them (its text format, parsed).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import signal
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from callout.cli.metrics_directory import drop_live_numbers, worker_metrics_directory
from callout.store.encryption import new_key_text
from support.api_clients import document
from support.https_servers import HttpsServer, reply
from support.polling import eventually
from support.processes import children_of, kill_hard, start_callout, stop_gently, wait_for_line
from support.served_processes import create_org, free_port, read_log, serving_callout

pytestmark = pytest.mark.realclock

WORKER_READY = "started (concurrency"
TRIGGER_ROUTE = "/v1/workflows/{workflow_id}/trigger"
OPS = Path(__file__).parents[3] / "docs" / "ops"
METRIC_NAME = re.compile(r"\bcallout_[a-z0-9_]+")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parsed(page: str) -> Samples:
    """Every sample of a page in Prometheus's text format, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(base: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as client:
        return await client.get("/metrics", headers=headers)


async def numbers(base: str) -> Samples:
    response = await scrape(base)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parsed(response.text)


async def published(client: httpx.AsyncClient, url: str, **step: object) -> str:
    created = await client.post("/v1/workflows", json={"document": document(url, **step)})
    assert created.status_code == 201, created.text
    workflow_id: str = created.json()["workflow"]["id"]
    assert (await client.post(f"/v1/workflows/{workflow_id}/publish")).status_code == 200
    return workflow_id


async def triggered(client: httpx.AsyncClient, workflow_id: str, count: int) -> list[str]:
    run_ids = []
    for number in range(count):
        started = await client.post(
            f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": f"inq_{number}"}}
        )
        assert started.status_code == 202, started.text
        run_ids.append(started.json()["run_id"])
    return run_ids


async def ended(client: httpx.AsyncClient, run_ids: list[str]) -> dict[str, str]:
    statuses: dict[str, str] = {}

    async def all_ended() -> bool:
        for run_id in run_ids:
            statuses[run_id] = (await client.get(f"/v1/runs/{run_id}")).json()["status"]
        return all(status in ("completed", "failed") for status in statuses.values())

    await eventually(all_ended, "the runs to end", seconds=30, every=0.05)
    return statuses


@pytest.fixture
def env(loopback_env: dict[str, str], workdir: Path) -> dict[str, str]:
    return {
        **loopback_env,
        "CALLOUT_DATABASE_URL": str(workdir / "callout.db"),
        "CALLOUT_SECRET_KEY": new_key_text(),
    }


async def test_serve_adds_up_its_api_and_worker_and_keeps_counting_after_a_worker_restart(
    https_server: HttpsServer, env: dict[str, str], workdir: Path
) -> None:
    https_server.script("/ok", reply(201, '{"id": "usr_1"}'))
    https_server.script("/bad", reply(400, '{"why": "refused"}'))
    key = await create_org(env=env)
    log = workdir / "serve.log"
    async with (
        serving_callout("serve", "--metrics-host-labels", env=env, log=log) as serve,
        serve.client(key) as client,
    ):
        await wait_for_line(log, WORKER_READY)
        ok = await published(client, https_server.url("/ok"))
        bad = await published(client, https_server.url("/bad"))
        run_ids = await triggered(client, ok, 3) + await triggered(client, bad, 1)
        assert sorted((await ended(client, run_ids)).values()) == ["completed"] * 3 + ["failed"]

        async def worker_counted(completed: int) -> bool:
            found = await numbers(serve.base)
            return sample(found, "callout_runs_finished_total", status="completed") == completed

        await eventually(lambda: worker_counted(3), "the worker's numbers", seconds=10)
        found = await numbers(serve.base)
        page = (await scrape(serve.base)).text
        # The worker child's numbers:
        assert sample(found, "callout_runs_started_total") == 4
        assert sample(found, "callout_runs_finished_total", status="failed") == 1
        host = "127.0.0.1"
        attempts = "callout_attempts_total"
        assert sample(found, attempts, outcome="succeeded", status_class="2xx", host=host) == 3
        assert sample(found, attempts, outcome="errored_fail", status_class="4xx", host=host) == 1
        assert sample(found, "callout_attempt_duration_seconds_count", host=host) == 4
        assert sample(found, "callout_worker_slots") == 64
        # The API process's own:
        requests = "callout_api_requests_total"
        assert sample(found, requests, route=TRIGGER_ROUTE, method="POST", status_class="2xx") == 4
        assert sample(found, "callout_due_step_runs") == 0
        # Bounded labels: no path, no port, no id.
        assert "/ok" not in page
        assert "/bad" not in page
        assert f":{https_server.port}" not in page
        assert not any(run_id in page for run_id in [*run_ids, ok, bad])
        # docs/ops names only what serve answers.
        served = {name for name, _ in found}
        for example in ("grafana-dashboard.json", "callout-alerts.yml"):
            named = set(METRIC_NAME.findall((OPS / example).read_text()))
            assert named <= served, f"{example}: {sorted(named - served)}"

        [worker] = children_of(serve.process.pid)
        os.kill(worker, signal.SIGKILL)
        await wait_for_line(log, WORKER_READY, count=2)
        await ended(client, await triggered(client, ok, 1))
        await eventually(lambda: worker_counted(4), "the new worker's numbers", seconds=10)
        found = await numbers(serve.base)
        # The dead worker's counts are kept and added to the new one's; its slots are not.
        assert sample(found, "callout_runs_started_total") == 5
        assert sample(found, "callout_worker_slots") == 64

        assert await stop_gently(serve.process) == 0
    assert not (workdir / ".callout" / "metrics").exists()  # made by serve, removed by it


async def test_metrics_need_the_token_once_one_is_set(env: dict[str, str], workdir: Path) -> None:
    token = "metrics-t0ken-for-the-test"
    env = {**env, "CALLOUT_METRICS_TOKEN": token}
    async with serving_callout("api", env=env, log=workdir / "api.log") as api:
        missing = await scrape(api.base)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"]["code"] == "unauthorized"
        assert (await scrape(api.base, Authorization="Bearer wrong")).status_code == 401
        allowed = await scrape(api.base, Authorization=f"Bearer {token}")
        assert allowed.status_code == 200
        assert "callout_due_step_runs" in allowed.text
    assert token not in (workdir / "api.log").read_text()


async def wait_listening(port: int, log: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            assert time.monotonic() < deadline, await read_log(log)
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return


async def test_api_reports_the_backlog_and_a_worker_serves_its_own_numbers(
    https_server: HttpsServer, env: dict[str, str], workdir: Path
) -> None:
    https_server.script("/ok", reply(201, '{"id": "usr_1"}'))
    key = await create_org(env=env)
    async with (
        serving_callout("api", env=env, log=workdir / "api.log") as api,
        api.client(key) as client,
    ):
        workflow_id = await published(client, https_server.url("/ok"))
        run_ids = await triggered(client, workflow_id, 2)
        # No worker yet: both runs wait.
        found = await numbers(api.base)
        assert sample(found, "callout_due_step_runs") == 2
        assert sample(found, "callout_oldest_due_seconds") >= 0
        assert ("callout_runs_started_total", ()) not in found  # the API runs no worker
        proxied = await scrape(api.base, **{"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 403

        port = free_port()
        log = workdir / "worker.log"
        worker = await start_callout(
            "worker", "--metrics-port", str(port), env=_unbuffered(env), log=log
        )
        try:
            await wait_listening(port, log)
            await ended(client, run_ids)
            base = f"http://127.0.0.1:{port}"

            async def counted() -> bool:
                found = await numbers(base)
                return sample(found, "callout_runs_finished_total", status="completed") == 2

            await eventually(counted, "the worker's numbers", seconds=10)
            page = (await scrape(base)).text
            assert 'host="' not in page  # host labels are the operator's choice
            assert "callout_api_requests_total" not in page
            refused = await scrape(base, Forwarded="for=203.0.113.9")
            assert refused.status_code == 403
            assert await stop_gently(worker) == 0
        finally:
            await kill_hard(worker)


def _unbuffered(env: Mapping[str, str]) -> dict[str, str]:
    return {**env, "PYTHONUNBUFFERED": "1"}


def test_serve_removes_directories_of_serves_that_died_but_not_of_live_ones(
    tmp_path: Path,
) -> None:
    base = tmp_path / "metrics"
    abandoned, live = base / "serve-999998", base / "serve-999999"
    for directory in (abandoned, live):
        directory.mkdir(parents=True)
        (directory / "counter_1.db").write_bytes(b"")
        (directory / ".lock").write_text("")
    with (live / ".lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a serve that still runs
        with worker_metrics_directory(base) as mine:
            assert not abandoned.exists()
            assert live.exists()
            assert mine.name == f"serve-{os.getpid()}"
            assert mine.stat().st_mode & 0o777 == 0o700
            assert list(mine.glob("*.db")) == []
    assert not mine.exists()
    assert live.exists()  # and so its parent, which this serve did not make


def test_serve_removes_the_directories_it_made_when_no_other_serve_uses_them(
    tmp_path: Path,
) -> None:
    base = tmp_path / "data" / "metrics"
    with worker_metrics_directory(base), worker_metrics_directory(tmp_path / "data" / "other"):
        assert base.is_dir()
    assert not (tmp_path / "data").exists()


def test_serve_keeps_worker_metrics_in_the_temporary_directory_when_its_own_is_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with worker_metrics_directory(blocker / "metrics") as made:
        assert made.parent.parent == temporary
        assert made.parent.name.startswith("callout-metrics-")
        assert made.is_dir()
    assert not made.exists()


def test_a_dead_worker_leaves_its_counters_and_loses_its_live_gauges(tmp_path: Path) -> None:
    for name in ("counter_41.db", "gauge_livesum_41.db", "gauge_livesum_42.db", "histogram_41.db"):
        (tmp_path / name).write_bytes(b"")
    drop_live_numbers(tmp_path, 41)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "counter_41.db",
        "gauge_livesum_42.db",
        "histogram_41.db",
    ]
