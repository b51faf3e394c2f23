"""`callout serve` runs its worker in a child process: supervised, woken, and gone with serve.

The API and the worker each get a core of their own. A worker that dies is
started again; when serve dies (even `kill -9`), its worker sees the wake-up
pipe close and stops instead of running on alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from callout.store.encryption import new_key_text
from support.api_clients import document
from support.https_servers import HttpsServer, reply
from support.processes import children_of, kill_hard, stop_gently, wait_for_line
from support.served_processes import create_org, serving_callout

pytestmark = pytest.mark.realclock

WORKER_READY = "started (concurrency"


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def until(check: Any, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def delivered(client: httpx.AsyncClient, workflow_id: str, payload_id: str) -> None:
    """Trigger the workflow and wait for its run to complete."""
    started = await client.post(
        f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": payload_id}}
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    status = ""
    deadline = time.monotonic() + 20
    while status != "completed":
        assert time.monotonic() < deadline, status
        status = (await client.get(f"/v1/runs/{run_id}")).json()["status"]
        await asyncio.sleep(0.05)


@pytest.fixture
def env(loopback_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        **loopback_env,
        "CALLOUT_DATABASE_URL": str(tmp_path / "callout.db"),
        "CALLOUT_SECRET_KEY": new_key_text(),
    }


async def published(client: httpx.AsyncClient, url: str) -> str:
    created = await client.post("/v1/workflows", json={"document": document(url)})
    workflow_id: str = created.json()["workflow"]["id"]
    assert (await client.post(f"/v1/workflows/{workflow_id}/publish")).status_code == 200
    return workflow_id


async def test_a_dead_worker_is_started_again_and_serve_killed_takes_its_worker_along(
    https_server: HttpsServer, env: dict[str, str], tmp_path: Path
) -> None:
    https_server.script("/users", reply(201, '{"id": "usr_1"}'))
    key = await create_org(env=env)
    log = tmp_path / "serve.log"
    async with serving_callout("serve", env=env, log=log) as serve, serve.client(key) as client:
        await wait_for_line(log, WORKER_READY)
        [worker] = children_of(serve.process.pid)
        workflow_id = await published(client, https_server.url("/users"))
        await delivered(client, workflow_id, "inq_1")

        os.kill(worker, signal.SIGKILL)
        await wait_for_line(log, "the worker process exited")
        await wait_for_line(log, WORKER_READY, count=2)
        [again] = children_of(serve.process.pid)
        assert again != worker
        await delivered(client, workflow_id, "inq_2")
        assert len(https_server.hits) == 2

        await kill_hard(serve.process)
        await until(lambda: not alive(again), "the worker to stop after serve was killed")


async def test_serve_stops_its_worker_when_it_stops(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    async with serving_callout("serve", env=env, log=log) as serve:
        await wait_for_line(log, WORKER_READY)
        [worker] = children_of(serve.process.pid)
        assert await stop_gently(serve.process) == 0
        assert not alive(worker)
