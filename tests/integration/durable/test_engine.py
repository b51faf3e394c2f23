"""The durable engine on SQLite and PostgreSQL: a worker executes recorded runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from callout.engine.executor import StepExecutor
from callout.engine.starting import resume_run, start_run
from callout.engine.worker import Worker
from callout.http import AiohttpTransport
from callout.model.clock import SystemClock
from callout.steps.validation import validate_workflow
from callout.store.database import database_url
from callout.store.notifications import listen_for_due_work
from callout.store.protocol import StoredRun
from callout.store.sql_store import SqlStore
from support.https_servers import HttpsServer, reply
from support.running import workflow_of
from support.workers import worker_running

FINISHED = {"completed", "failed"}


def step(step_id: str, url: str, **config: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "make_https_request", "url": url, **config}


async def start(store: SqlStore, *steps: dict[str, Any], trigger: Any = None) -> str:
    workflow = validate_workflow(workflow_of(*steps))
    return await start_run(store, workflow, trigger or {}, clock=SystemClock())


def running_worker(
    store: SqlStore, transport: AiohttpTransport, **options: Any
) -> contextlib.AbstractAsyncContextManager[Worker]:
    """A worker (with `options`) over `store` for the block."""
    executor = StepExecutor(store=store, transport=transport)
    return worker_running(
        Worker(store=store, executor=executor, poll_interval=0.2, lease_margin=5, **options)
    )


async def finished(store: SqlStore, run_id: str, timeout: float = 20) -> StoredRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await store.run_status(run_id) in FINISHED:
            return await store.get_run(run_id)
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {await store.get_run(run_id)}")


async def test_a_recorded_run_completes_through_a_worker(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/users", reply(201, '{"id": "usr_9"}'))
    run_id = await start(
        store,
        step("create", https_server.url("/users"), body={"email": "{{ trigger.email }}"}),
        step(
            "tag", https_server.url("/users/{{ steps.create.body.id }}/tags"), method="PUT", body={}
        ),
        trigger={"email": "ada@example.com"},
    )
    async with running_worker(store, transport):
        run = await finished(store, run_id)
    assert run.status == "completed"
    assert [hit.path for hit in https_server.hits] == ["/users", "/users/usr_9/tags"]
    output = run.steps[0].output
    assert output is not None
    assert (output["status"], output["body"]) == (201, {"id": "usr_9"})
    assert output["headers"]["content-type"].startswith("application/json")


@pytest.mark.realclock
async def test_a_retry_fires_at_its_due_time_on_the_real_clock(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/flaky", reply(503), reply(200))
    run_id = await start(store, step("a", https_server.url("/flaky"), body={}, retry_intervals=[2]))
    async with running_worker(store, transport):
        run = await finished(store, run_id)
    assert run.status == "completed"
    first, second = https_server.hits_on("/flaky")
    assert second.at - first.at == pytest.approx(2.0, abs=0.3)
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert [a.number for a in run.steps[0].attempts] == [1, 2]


async def test_resume_sends_the_failed_step_again_with_a_new_key(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/users", reply(400), reply(201, '{"id": "usr_1"}'))
    run_id = await start(
        store,
        step("create", https_server.url("/users"), body={}),
        step("notify", https_server.url("/notify"), body={"user": "{{ steps.create.body.id }}"}),
    )
    async with running_worker(store, transport):
        failed = await finished(store, run_id)
        assert failed.status == "failed"
        assert [s.status for s in failed.steps] == ["errored", "skipped"]
        await resume_run(store, run_id, clock=SystemClock())
        run = await finished(store, run_id)
    assert run.status == "completed"
    first, second = https_server.hits_on("/users")
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    assert [(s.step_id, s.status) for s in run.steps] == [
        ("create", "errored"),
        ("create", "succeeded"),
        ("notify", "succeeded"),
    ]
    assert run.steps[1].resumed_from == run.steps[0].id


async def test_stopping_finishes_the_attempt_in_flight(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/slow", reply(200, delay=0.5))
    run_id = await start(store, step("a", https_server.url("/slow"), method="GET"))
    async with running_worker(store, transport, grace=5):
        while not https_server.hits:
            await asyncio.sleep(0.01)
    run = await store.get_run(run_id)
    assert run.status == "completed"
    assert [a.status for a in run.steps[0].attempts] == ["succeeded"]


async def test_a_run_stays_pinned_to_the_document_it_started_with(
    store: SqlStore, https_server: HttpsServer
) -> None:
    first = await start(store, step("a", https_server.url("/v1"), method="GET"))
    second = await start(store, step("a", https_server.url("/v2"), method="GET"))
    one, two = await store.get_run(first), await store.get_run(second)
    assert one.document["steps"][0]["url"].endswith("/v1")
    assert two.document["steps"][0]["url"].endswith("/v2")


async def test_a_listening_worker_wakes_on_new_work_without_waiting_for_its_poll(
    pg_url: str,
    pg_store: SqlStore,
    https_server: HttpsServer,
    transport: AiohttpTransport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = pg_store
    # How often the worker has asked how long to sleep: once it asks, it is asleep.
    looked = 0
    seconds_until_due = store.seconds_until_due

    async def counted(run_id: str | None = None) -> float | None:
        nonlocal looked
        found = await seconds_until_due(run_id)
        looked += 1
        return found

    monkeypatch.setattr(store, "seconds_until_due", counted)
    executor = StepExecutor(store=store, transport=transport)
    worker = Worker(store=store, executor=executor, poll_interval=10.0)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    listening_since: list[int] = []  # `looked` when LISTEN was in place

    def wake() -> None:
        if not listening_since:
            listening_since.append(looked)  # the listener wakes once as soon as it listens
        worker.wake()

    listening = asyncio.create_task(listen_for_due_work(database_url(pg_url), wake))
    try:
        deadline = time.monotonic() + 10
        # The worker has gone back to sleep (for up to 10 s) since the listener listens.
        while not listening_since or looked <= listening_since[0]:
            assert time.monotonic() < deadline, "the listener or the worker never got ready"
            await asyncio.sleep(0.01)
        started = time.monotonic()
        run_id = await start(store, step("a", https_server.url("/now"), method="GET"))
        run = await finished(store, run_id, timeout=5)
        assert time.monotonic() - started < 2.0
        assert run.status == "completed"
    finally:
        listening.cancel()
        stop.set()
        await asyncio.wait_for(running, 10)


async def test_an_idle_listening_worker_rests_between_polls(
    pg_url: str, pg_store: SqlStore, transport: AiohttpTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim wakes no one: were it to NOTIFY, every listening worker (itself too) would
    claim again at once, for ever (an idle worker once spun at 80 % of a core)."""
    store = pg_store
    claims = 0
    claim_due = store.claim_due

    async def counted(*, lease_seconds: float, limit: int, run_id: str | None = None) -> Any:
        nonlocal claims
        claims += 1
        return await claim_due(lease_seconds=lease_seconds, limit=limit, run_id=run_id)

    monkeypatch.setattr(store, "claim_due", counted)
    executor = StepExecutor(store=store, transport=transport)
    worker = Worker(store=store, executor=executor, poll_interval=0.5)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    listening = asyncio.create_task(listen_for_due_work(database_url(pg_url), worker.wake))
    try:
        await asyncio.sleep(0.5)  # the listener connects and wakes the worker once
        before = claims
        await asyncio.sleep(2.0)  # idle: four polls, give or take a wake-up
        assert claims - before <= 6, claims - before
    finally:
        listening.cancel()
        stop.set()
        await asyncio.wait_for(running, 10)
