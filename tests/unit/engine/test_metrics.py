"""The engine's metrics: what the worker and executor count, label bounds, the backlog, access.

Counted through the real Prometheus client into a private registry, by a real
worker over the in-memory store; the due backlog is read from a real SQLite
file, whose clock the test moves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from callout.engine.executor import StepExecutor
from callout.engine.metrics import (
    CountedOutage,
    NoMetrics,
    RecordedAttempt,
    run_end,
    starts_run,
)
from callout.engine.metrics_access import is_loopback, metrics_refusal
from callout.engine.metrics_exposition import DueBacklogCollector, MetricsPage
from callout.engine.prometheus_metrics import (
    MAX_HOSTS,
    PrometheusEngineMetrics,
    host_of,
    status_class,
)
from callout.engine.starting import start_run
from callout.engine.worker import Worker
from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.steps.validation import validate_workflow
from callout.store.database import database_url
from callout.store.due_backlog import read_due_backlog
from callout.store.memory import MemoryStore
from callout.store.outage import Backoff
from callout.store.protocol import Claim, FinishedAttempt, LeaseLostError, StoreUnavailable
from callout.store.sql_store import open_store
from support.polling import eventually
from support.running import workflow_of

DB_START = 1_800_000_000.0
QUICK = Backoff(first=0.001, cap=0.004)
JSON = (("Content-Type", "application/json"),)


def answer(request: OutboundRequest) -> InboundResponse:
    """200 on /ok, 400 on /bad."""
    status = 400 if request.url.endswith("/bad") else 200
    return InboundResponse(status=status, headers=JSON, body=b"{}")


def step(step_id: str, path: str, **config: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "action": "make_https_request",
        "url": f"https://api.test/{path}",
        **config,
    }


async def recorded(store: MemoryStore, *steps: dict[str, Any]) -> str:
    workflow = validate_workflow(workflow_of(*steps))
    return await start_run(store, workflow, {}, clock=ManualClock(DB_START))


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


@asynccontextmanager
async def working(worker: Worker) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def finished(store: MemoryStore, run_ids: list[str]) -> Any:
    async def check() -> bool:
        statuses = [await store.run_status(run_id) for run_id in run_ids]
        return all(status in ("completed", "failed") for status in statuses)

    return check


async def test_the_worker_counts_runs_attempts_latency_and_slots() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusEngineMetrics(registry)
    store = MemoryStore(clock=ManualClock(DB_START))
    two_steps = await recorded(store, step("a", "ok"), step("b", "ok"))
    failing = await recorded(store, step("a", "bad"))
    going_on = await recorded(store, step("a", "bad", continue_on_error=True))
    executor = StepExecutor(
        store=store,
        transport=MockTransport(answer),
        clock=ManualClock(DB_START),
        metrics=metrics,
        outage=CountedOutage(metrics, QUICK),
    )
    worker = Worker(store=store, executor=executor, concurrency=8, poll_interval=0.01)
    async with working(worker):
        await eventually(finished(store, [two_steps, failing, going_on]), "every run to end")
        await eventually(
            lambda: value(registry, "callout_worker_slots_in_use") == 0, "the slots freed"
        )

    assert value(registry, "callout_runs_started_total") == 3
    assert value(registry, "callout_runs_finished_total", status="completed") == 2
    assert value(registry, "callout_runs_finished_total", status="failed") == 1
    attempts = "callout_attempts_total"
    assert value(registry, attempts, outcome="succeeded", status_class="2xx") == 2
    assert value(registry, attempts, outcome="errored_fail", status_class="4xx") == 1
    assert value(registry, attempts, outcome="errored_continue", status_class="4xx") == 1
    assert value(registry, "callout_attempt_errors_total", type="http_status") == 2
    assert value(registry, "callout_attempt_duration_seconds_count") == 4
    assert value(registry, "callout_worker_slots") == 8
    assert value(registry, "callout_store_errors_total", error="unavailable") == 0


class LosesEveryLease(MemoryStore):
    """A store where another worker always took the step over before the result came."""

    async def finish_attempt(self, claim: Claim, finished: FinishedAttempt) -> None:
        raise LeaseLostError(f"the lease on step run {claim.step_run_id} was taken over")


async def test_a_lost_lease_counts_as_a_store_error_and_not_as_an_attempt() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusEngineMetrics(registry)
    store = LosesEveryLease(clock=ManualClock(DB_START))
    await recorded(store, step("a", "ok"))
    [claim] = await store.claim_due(lease_seconds=30, limit=1)
    executor = StepExecutor(store=store, transport=MockTransport(answer), metrics=metrics)
    await executor.execute(claim)
    assert value(registry, "callout_store_errors_total", error="lease_lost") == 1
    assert value(registry, "callout_attempts_total", outcome="succeeded", status_class="2xx") == 0
    assert value(registry, "callout_runs_finished_total", status="completed") == 0


def test_each_failed_try_of_the_store_counts_once() -> None:
    registry = CollectorRegistry()
    outage = CountedOutage(PrometheusEngineMetrics(registry), QUICK)
    outage.lost(StoreUnavailable("the database is unavailable"))
    outage.lost(StoreUnavailable("the database is unavailable"))
    outage.reached()
    assert value(registry, "callout_store_errors_total", error="unavailable") == 2
    assert not outage.down


@pytest.mark.parametrize(
    ("decision", "last_step", "ends"),
    [
        (Decision.SUCCEEDED, True, "completed"),
        (Decision.SUCCEEDED, False, None),
        (Decision.ERRORED_CONTINUE, True, "completed"),
        (Decision.ERRORED_CONTINUE, False, None),
        (Decision.ERRORED_FAIL, False, "failed"),
        (Decision.ERRORED_FAIL, True, "failed"),
        (Decision.RETRY, True, None),
    ],
)
def test_a_run_ends_with_a_final_error_or_its_last_step(
    decision: Decision, last_step: bool, ends: str | None
) -> None:
    assert run_end(decision, last_step=last_step) == ends


def claim(position: int, next_number: int) -> Claim:
    return Claim(
        step_run_id="stp_1",
        run_id="wfr_1",
        position=position,
        step_id="a",
        lease_token="t",
        lease_expires_at=0.0,
        attempts_made=next_number - 1,
        interruptions=0,
        next_number=next_number,
        attempt_id="att_1",
    )


def test_a_run_starts_with_the_first_attempt_of_its_first_step() -> None:
    assert starts_run(claim(0, 1))
    assert not starts_run(claim(0, 2))  # a retry
    assert not starts_run(claim(1, 1))  # a later step


@pytest.mark.parametrize(
    ("status", "named"),
    [(200, "2xx"), (204, "2xx"), (301, "3xx"), (404, "4xx"), (503, "5xx"), (None, "none")],
)
def test_statuses_are_counted_by_class(status: int | None, named: str) -> None:
    assert status_class(status) == named


def attempt(url: str | None) -> RecordedAttempt:
    return RecordedAttempt(
        decision=Decision.SUCCEEDED,
        http_status=200,
        error_type=None,
        seconds=0.01,
        url=url,
        run_end=None,
    )


def test_no_host_label_unless_the_operator_asks() -> None:
    registry = CollectorRegistry()
    PrometheusEngineMetrics(registry).attempt_recorded(attempt("https://crm.example/users?x=1"))
    page = generate_latest(registry).decode()
    assert "crm.example" not in page
    assert "/users" not in page


def test_host_labels_name_at_most_max_hosts_then_other() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusEngineMetrics(registry, host_labels=True)
    for number in range(MAX_HOSTS + 5):
        metrics.attempt_recorded(attempt(f"https://h{number}.example/path?token=x"))
    metrics.attempt_recorded(attempt("https://h0.example/again"))
    page = generate_latest(registry).decode()
    assert "/path" not in page
    assert "token" not in page
    labels = {"outcome": "succeeded", "status_class": "2xx"}
    assert value(registry, "callout_attempts_total", **labels, host="h0.example") == 2
    assert value(registry, "callout_attempts_total", **labels, host="other") == 5
    assert value(registry, "callout_attempt_duration_seconds_count", host="other") == 5


def test_a_host_is_read_from_the_url_alone() -> None:
    assert host_of("https://User:pw@API.Example.com:8443/x?y=1") == "api.example.com"
    assert host_of(None) == "none"
    assert host_of("not a url") == "none"


def test_no_metrics_counts_nothing_and_accepts_every_call() -> None:
    quiet = NoMetrics()
    quiet.claimed([claim(0, 1)])
    quiet.slots(in_use=1, total=2)
    quiet.attempt_recorded(attempt(None))
    quiet.store_error("unavailable")
    quiet.execution_crashed()


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("2001:db8::1", False),
        ("testclient", False),
        (None, False),
    ],
)
def test_only_this_machine_is_loopback(host: str | None, local: bool) -> None:
    assert is_loopback(host) is local


def test_without_a_token_only_loopback_clients_without_a_proxy_may_scrape() -> None:
    assert metrics_refusal(token=None, authorization=None, client_host="::1", proxied=False) is None
    remote = metrics_refusal(token=None, authorization=None, client_host="10.1.2.3", proxied=False)
    assert remote is not None
    assert remote.status == 403
    assert "CALLOUT_METRICS_TOKEN" in remote.message
    proxied = metrics_refusal(token=None, authorization=None, client_host="127.0.0.1", proxied=True)
    assert proxied is not None
    assert proxied.status == 403


@pytest.mark.parametrize(
    ("authorization", "allowed"),
    [
        ("Bearer s3cret-token", True),
        ("bearer s3cret-token", True),
        ("Bearer wrong", False),
        ("Bearer s3cret-token-and-more", False),
        ("Basic s3cret-token", False),
        (None, False),
    ],
)
def test_with_a_token_every_client_must_send_it(authorization: str | None, allowed: bool) -> None:
    refusal = metrics_refusal(
        token="s3cret-token", authorization=authorization, client_host="127.0.0.1", proxied=False
    )
    assert (refusal is None) is allowed
    if refusal is not None:
        assert refusal.status == 401
        assert "s3cret-token" not in refusal.message


class Readings:
    """A backlog reader that counts its reads and can be held or made to fail."""

    def __init__(self) -> None:
        self.reads = 0
        self.release = asyncio.Event()
        self.release.set()
        self.failing = False

    async def __call__(self) -> tuple[int, float | None]:
        self.reads += 1
        await self.release.wait()
        if self.failing:
            raise StoreUnavailable("the database is unavailable")
        return 7, 12.5


async def test_the_backlog_is_read_at_most_once_per_period_and_shared_by_scrapes() -> None:
    readings = Readings()
    registry = CollectorRegistry()
    page = MetricsPage(registry, backlog=DueBacklogCollector(readings, every=3600))
    readings.release.clear()
    scrapes = [asyncio.create_task(page.render()) for _ in range(3)]
    await eventually(lambda: readings.reads == 1, "the first read to start")
    readings.release.set()
    pages = await asyncio.gather(*scrapes)
    await page.render()
    assert readings.reads == 1
    assert all(b"callout_due_step_runs 7.0" in text for text in pages)
    assert value(registry, "callout_oldest_due_seconds") == 12.5


async def test_a_backlog_that_cannot_be_read_has_no_sample_and_is_read_again() -> None:
    readings = Readings()
    readings.failing = True
    registry = CollectorRegistry()
    page = MetricsPage(registry, backlog=DueBacklogCollector(readings, every=0))
    text = (await page.render()).decode()
    assert "# TYPE callout_due_step_runs gauge" in text
    assert registry.get_sample_value("callout_due_step_runs") is None
    readings.failing = False
    await page.render()
    assert readings.reads == 2
    assert value(registry, "callout_due_step_runs") == 7


async def test_the_due_backlog_counts_up_to_its_cap_and_times_the_oldest(tmp_path: Path) -> None:
    database = ManualClock(DB_START)
    store = await open_store(database_url(str(tmp_path / "callout.db")), clock=database)
    try:
        workflow = validate_workflow(workflow_of(step("a", "ok")))
        for _ in range(3):
            await start_run(store, workflow, {}, clock=database)
        database.advance(30)
        assert await store.read(read_due_backlog, 2) == (2, 30.0)
        assert await store.read(read_due_backlog, 100) == (3, 30.0)
        await store.claim_due(lease_seconds=30, limit=3)  # leased: due again only later
        assert await store.read(read_due_backlog) == (0, None)
    finally:
        await store.close()


async def test_an_empty_store_has_no_backlog(tmp_path: Path) -> None:
    store = await open_store(database_url(str(tmp_path / "callout.db")))
    try:
        assert await store.read(read_due_backlog) == (0, None)
    finally:
        await store.close()
