"""A host paused the way it happens: a limit row, a failed attempt, the breaker open.

A worker with delivery control (as `callout worker` runs it) sends a run to a
loopback HTTPS server that answers 503 once; the limit row's threshold of one
failure opens the host's breaker for ten minutes. The worker reads each
organization's troubled hosts at most once a second; `Ticks` is the clock of
that cache, so a test ends its second when it says, without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from callout.engine.delivery_gate import DeliveryControl
from callout.engine.executor import StepExecutor
from callout.engine.worker import Worker
from callout.store.account_records import StoredOrgSecrets
from support.api_clients import TEST_KEY, Org, Service, document, finished_run
from support.https_servers import HttpsServer, reply

HOST = "127.0.0.1"
"""The loopback test servers' host, as delivery control keys it."""

PAUSE = 600
"""Seconds the paused host waits for its first probe: longer than any test."""


class Ticks:
    """A monotonic clock a test moves: the worker's view of troubled hosts ends when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def forget_hosts(self) -> None:
        """Move past the age of the worker's cached limits and troubled hosts."""
        self.now += 2.0


@asynccontextmanager
async def delivering(service: Service, ticks: Ticks) -> AsyncIterator[None]:
    """Run a worker with delivery control over the service's store for the block."""
    executor = StepExecutor(
        store=service.store,
        transport=service.transport,
        org_secrets=StoredOrgSecrets(service.store, TEST_KEY),
        delivery=DeliveryControl(service.store.delivery, monotonic=ticks),
    )
    worker = Worker(store=service.store, executor=executor, poll_interval=0.02)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def trigger(org: Org, workflow_id: str) -> str:
    """Start a run of the workflow; return its id."""
    started = await org.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "inq_1"}}
    )
    return str(started["run_id"])


async def pause_host(org: Org, server: HttpsServer, ticks: Ticks) -> str:
    """Pause `HOST` for `org` (inside `delivering`): the server answers 503, then 201.

    Returns the id of the published workflow that calls the server.
    """
    await org.ok(
        "PUT",
        f"/v1/host-limits/{HOST}",
        json={"breaker_failures": 1, "breaker_pause_seconds": PAUSE},
    )
    server.script("/users", reply(503), reply(201, '{"id": "usr_1"}'))
    created = await org.ok(
        "POST", "/v1/workflows", 201, json={"document": document(server.url("/users"))}
    )
    workflow_id = str(created["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    failed = await finished_run(org, await trigger(org, workflow_id))
    assert failed["status"] == "failed", failed
    ticks.forget_hosts()
    return workflow_id
