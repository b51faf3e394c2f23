"""End to end, every part a real process: a signed request reaches `callout receiver`.

An operator makes an organization with the CLI; a client stores a signing
secret, creates, publishes and triggers a workflow over HTTP; the service
(`callout serve`, or `callout api` beside a `callout worker` on PostgreSQL)
sends the signed request to the receiver, which checks the signature.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.api_clients import document
from support.databases import POSTGRES_ENV, fresh_database, postgres_admin_url
from support.processes import kill_hard, run_callout, start_callout, stop_gently
from support.served_processes import create_org, free_port, read_log, serving_callout
from support.services import skip_or_fail

SIGNING_SECRET = "e2e-signing-s3cr3t-that-must-not-leak"
SECRET_NAME = "receiver_signing"
RUN_TIMEOUT = 30.0


async def wait_for_text(path: Path, text: str, timeout: float = RUN_TIMEOUT) -> str:
    """Wait until the log at `path` contains `text`; return the log."""
    for _ in range(int(timeout / 0.1)):
        if text in (printed := await read_log(path)):
            return printed
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path.name} never printed {text!r}:\n{await read_log(path)}")


@asynccontextmanager
async def running(
    *args: str, env: Mapping[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`callout ARGS` as a process; killed at the end unless the test stopped it."""
    process = await start_callout(*args, env={**env, "PYTHONUNBUFFERED": "1"}, log=log)
    try:
        yield process
    finally:
        await kill_hard(process)


@dataclass(frozen=True, slots=True)
class Receiver:
    """A `callout receiver` process: where it listens, the CA it made, what it printed."""

    process: asyncio.subprocess.Process
    port: int
    ca: Path
    log: Path

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def client_env(self) -> dict[str, str]:
        """What a callout process needs to reach it: its CA, and loopback allowed."""
        return {"CALLOUT_CA_BUNDLE": str(self.ca), "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32"}


@pytest.fixture
async def receiver(workdir: Path) -> AsyncIterator[Receiver]:
    port = free_port()
    log = workdir / "receiver.log"
    async with running(
        "receiver", "--port", str(port), "--secret", SIGNING_SECRET, env={}, log=log
    ) as process:
        await wait_for_text(log, f"listening on https://127.0.0.1:{port}")
        ca = workdir / ".callout" / "receiver" / "ca.pem"
        assert ca.exists()
        yield Receiver(process=process, port=port, ca=ca, log=log)


async def ok(client: httpx.AsyncClient, method: str, path: str, status: int, **kw: Any) -> Any:
    response = await client.request(method, path, **kw)
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


async def start_signed_run(client: httpx.AsyncClient, receiver: Receiver) -> dict[str, Any]:
    """Store the secret, create and publish a signed workflow to the receiver, trigger it."""
    await ok(
        client, "POST", "/v1/secrets", 201, json={"name": SECRET_NAME, "value": SIGNING_SECRET}
    )
    reference = f"{{{{ secrets.{SECRET_NAME} }}}}"
    workflow = document(
        receiver.url("/echo"),
        secret=reference,
        # The secret sent in a header too: the recorded request must not show it.
        headers=[{"key": "X-Shared-Secret", "value": reference}],
    )
    created = await ok(client, "POST", "/v1/workflows", 201, json={"document": workflow})
    assert created["draft"]["problems"] == []
    workflow_id = created["workflow"]["id"]
    await ok(client, "POST", f"/v1/workflows/{workflow_id}/publish", 200)
    started: dict[str, Any] = await ok(
        client,
        "POST",
        f"/v1/workflows/{workflow_id}/trigger",
        202,
        json={"payload": {"id": "inq_e2e"}},
    )
    assert started["status"] == "pending"
    return started


async def wait_finished(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = {}
    for _ in range(int(RUN_TIMEOUT / 0.1)):
        run = await ok(client, "GET", f"/v1/runs/{run_id}", 200)
        if run["status"] in {"completed", "failed", "cancelled"}:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} never finished: {run}")


def assert_signed_and_redacted(run: dict[str, Any]) -> None:
    """The run completed with one 200 attempt whose recorded request hides the secret."""
    assert run["status"] == "completed", run
    [step] = run["steps"]
    assert step["status"] == "succeeded", step
    [attempt] = step["attempts"]
    assert attempt["outcome"] == "succeeded"
    assert attempt["status"] == 200
    assert attempt["response"]["status"] == 200
    request = attempt["request"]
    assert request["method"] == "POST"
    headers = {name.lower(): value for name, value in request["headers"]}
    assert headers["x-shared-secret"] == "[redacted]"
    assert headers["persona-signature"].startswith("t=")
    assert json.loads(request["body"]) == {"inquiry": "inq_e2e"}
    assert SIGNING_SECRET not in json.dumps(run)


async def test_serve_sends_a_signed_request_the_receiver_verifies(
    receiver: Receiver, workdir: Path
) -> None:
    log = workdir / "serve.log"
    async with serving_callout("serve", env=receiver.client_env(), log=log) as serve:
        key = await create_org(env={}, as_process=True)  # the same ./callout.db serve uses
        async with serve.client(key) as client:
            started = await start_signed_run(client, receiver)
            run = await wait_finished(client, started["run_id"])
        assert_signed_and_redacted(run)
        printed = await wait_for_text(receiver.log, "signature ok")
        assert "POST /echo" in printed
        assert SIGNING_SECRET not in printed
        assert await stop_gently(serve.process) == 0
    assert await stop_gently(receiver.process) == 0
    assert "Traceback" not in await read_log(log)
    assert SIGNING_SECRET not in await read_log(log)


@pytest.fixture
async def postgres_url(workdir: Path) -> AsyncIterator[str]:
    if postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with fresh_database("postgresql", workdir) as url:
        yield url


async def test_api_and_a_separate_worker_on_postgresql_complete_a_triggered_run(
    receiver: Receiver, workdir: Path, postgres_url: str
) -> None:
    code, out, err = await run_callout("keygen", env={})
    assert code == 0, err
    database = {"CALLOUT_DATABASE_URL": postgres_url}
    env = {**database, **receiver.client_env(), "CALLOUT_SECRET_KEY": out.strip()}
    api_log, worker_log = workdir / "api.log", workdir / "worker.log"
    async with serving_callout("api", env=env, log=api_log) as api:
        key = await create_org(env=database, as_process=True)
        async with api.client(key) as client:
            started = await start_signed_run(client, receiver)
            # `callout api` executes nothing: without a worker the run waits.
            await asyncio.sleep(1.0)
            waiting = await ok(client, "GET", f"/v1/runs/{started['run_id']}", 200)
            assert waiting["status"] == "pending"
            assert "signature ok" not in await read_log(receiver.log)

            async with running("worker", env=env, log=worker_log) as worker:
                run = await wait_finished(client, started["run_id"])
                assert await stop_gently(worker) == 0
        assert_signed_and_redacted(run)
        await wait_for_text(receiver.log, "signature ok")
        assert await stop_gently(api.process) == 0
    assert await stop_gently(receiver.process) == 0
    assert "stopped" in await read_log(worker_log)
    for log in (api_log, worker_log):
        assert "Traceback" not in await read_log(log)
