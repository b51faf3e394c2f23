"""`callout worker`: execute due work from the store until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator

import click

from callout.cli.event_loop import run
from callout.cli.heap import freeze_startup_objects
from callout.cli.log_format import announce, configure_logging, log_format_option
from callout.cli.metrics_options import (
    WorkerMetrics,
    host_labels_option,
    metrics_host_option,
    metrics_port_option,
    worker_metrics,
)
from callout.cli.secret_options import EnvironmentSecrets
from callout.cli.store_access import database_option, opened_store
from callout.cli.worker_metrics import serve_worker_metrics
from callout.cli.worker_process import listen_for_wakes
from callout.engine.delivery_gate import DeliveryControl
from callout.engine.event_wants import EventWants
from callout.engine.executor import StepExecutor
from callout.engine.metrics import NO_METRICS, CountedOutage, EngineMetrics
from callout.engine.retention_task import PRUNE_EVERY, prune_every_setting, prune_periodically
from callout.engine.run_events_task import RunEventDispatcher
from callout.engine.secret_cache import CachedOrgSecrets
from callout.engine.token_source import AccessTokens
from callout.engine.worker import Worker
from callout.http import AiohttpTransport, Transport, TransportConfig
from callout.model.ids import new_id
from callout.store.database import DatabaseUrl, database_url
from callout.store.encryption import SecretKeyError, load_secret_key
from callout.store.notifications import listen_for_due_work
from callout.store.outage import StoreOutage
from callout.store.protocol import Store, StoreUnavailable
from callout.store.secrets import OrgSecrets, StoredOrgSecrets
from callout.store.sql_store import SqlStore

GIVE_BACK_WITHIN = 5.0
"""Seconds a stopping worker gives its reserved slots back in; after that they expire."""

HEARTBEAT = 5.0
"""Seconds between a worker's 'still alive' records."""


async def heartbeat(
    store: Store,
    worker_id: str,
    stop: asyncio.Event,
    *,
    outage: StoreOutage,
    every: float = HEARTBEAT,
) -> None:
    """Record that this worker is alive every `every` seconds until `stop` is set.

    While the database is out the record is tried again on the shared backoff (and
    the outage logged once, through `outage`), so it is fresh as soon as the
    database is back.
    """
    waits: Iterator[float] | None = None
    while not stop.is_set():
        try:
            # Stamped with the database's time: a worker's clock may be off.
            await store.worker_seen(worker_id, host=socket.gethostname(), pid=os.getpid())
        except StoreUnavailable as exc:
            outage.lost(exc)
            waits = waits or outage.backoff.waits()
            pause = next(waits)
        else:
            if waits is not None:
                waits = None
                outage.reached()
            pause = every
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)


async def run_worker(
    store: SqlStore,
    database: DatabaseUrl,
    stop: asyncio.Event,
    *,
    transport: Transport,
    concurrency: int,
    grace: float,
    lease_margin: float,
    allow_http: bool,
    org_secrets: OrgSecrets | None,
    ready: Callable[[Worker], None] | None = None,
    prune_every: float = PRUNE_EVERY,
    metrics: EngineMetrics = NO_METRICS,
) -> None:
    """Execute due work until `stop` is set; finish or release work in flight within `grace`.

    Beside it, the worker prunes past retention every `prune_every` seconds (0: never)
    when the database gives it the prune lease (engine/retention_task.py), and turns
    recorded run events into notification runs (engine/run_events_task.py).
    """
    worker_id = new_id("wrk")
    # Per-host limits and breakers, with this process's reserve of admissions for
    # limited hosts (engine/host_reserve.py), given back when unused and at the end.
    delivery = DeliveryControl(store.delivery, hold_margin=lease_margin)
    executor = StepExecutor(
        store=store,
        transport=transport,
        secrets=EnvironmentSecrets(),
        allow_http=allow_http,
        # Read at most once a second per organization (engine/secret_cache.py).
        org_secrets=CachedOrgSecrets(org_secrets) if org_secrets is not None else None,
        # OAuth2 tokens, shared with every worker through the store under the same key.
        tokens=AccessTokens(
            transport,
            records=store.tokens,
            cipher=org_secrets.cipher if isinstance(org_secrets, StoredOrgSecrets) else None,
        ),
        metrics=metrics,
        outage=CountedOutage(metrics),  # each failed try of the store counts as a store error
        # Per-host limits and breakers, and wanted run events: read once a second per
        # organization; an attempt to an untroubled, unlimited host asks nothing more.
        delivery=delivery,
        event_wants=EventWants(store.run_events),
    )
    worker = Worker(
        store=store,
        executor=executor,
        concurrency=concurrency,
        grace=grace,
        lease_margin=lease_margin,
    )
    if ready is not None:
        ready(worker)
    logging.getLogger("callout.engine").info("worker %s started", worker_id)
    announce(
        f"worker {worker_id} started (concurrency {concurrency}); stop: Ctrl-C or SIGTERM",
        logger="callout.engine",
    )
    # One outage for the loop, its attempts, the heartbeat and the listener: one log line.
    outage = worker.outage
    beating = asyncio.create_task(heartbeat(store, worker_id, stop, outage=outage))
    listening = asyncio.create_task(listen_for_due_work(database, worker.wake, outage=outage))
    # Run events recorded by results become notification runs (engine/run_events_task.py).
    dispatcher = RunEventDispatcher(
        store.run_events, outage=outage, dispatched=lambda _: worker.wake()
    )
    background = [
        listening,
        beating,
        asyncio.create_task(dispatcher.run(stop)),
        asyncio.create_task(delivery.keep_reserves(stop)),
    ]
    if prune_every > 0:
        background.append(
            asyncio.create_task(
                prune_periodically(
                    store.retention, worker_id, stop, outage=outage, every=prune_every
                )
            )
        )
    try:
        await worker.run(stop)
        # Drained: what this worker reserved for limited hosts goes to other workers now.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(delivery.give_back_quietly(everything=True), GIVE_BACK_WITHIN)
    finally:
        stop.set()
        for task in background:
            # The heartbeat ends at `stop`, unless it waits on a database that hangs.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    announce(f"worker {worker_id} stopped", logger="callout.engine")


def stop_on_signals() -> asyncio.Event:
    """Return an event that SIGTERM or SIGINT sets."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def org_secrets_for(store: SqlStore, *, create_key: bool = False) -> OrgSecrets | None:
    """Return the organizations' secrets under the operator's key, or None without a key.

    Without a key, runs of an organization error (`secret_unavailable`) rather than
    run without their secrets; runs of `callout run` use CALLOUT_SECRET_<NAME>.
    """
    try:
        loaded = load_secret_key(os.environ, create=create_key)
    except SecretKeyError as exc:
        announce(
            f"note: {exc}; organizations' runs will fail until it is set",
            level=logging.WARNING,
            logger="callout.engine",
        )
        return None
    return StoredOrgSecrets(store, loaded.cipher)


async def work(
    database: str | None,
    concurrency: int,
    grace: float,
    lease_margin: float,
    config: TransportConfig,
    wake_fd: int | None = None,
    prune_every: float = PRUNE_EVERY,
    metrics: WorkerMetrics | None = None,
    metrics_address: tuple[str, int] | None = None,
) -> None:
    """Run a worker until a stop signal; finish or release work in flight within `grace`.

    `wake_fd`: a pipe `callout serve` writes to when it has started runs.
    `metrics_address`: where to serve `metrics.page` (`--metrics-host`, `--metrics-port`).
    """
    counted = metrics or WorkerMetrics(NO_METRICS, None)
    served = None
    if counted.page is not None and metrics_address is not None:
        host, port = metrics_address
        served = await serve_worker_metrics(counted.page, host=host, port=port)
    stop = stop_on_signals()
    url = database_url(database)
    transport = AiohttpTransport(config)
    unlisten: list[Callable[[], None]] = []

    def ready(worker: Worker) -> None:
        if wake_fd is not None:
            unlisten.append(listen_for_wakes(wake_fd, worker.wake, stop.set))

    try:
        # A database out of reach at start (locked, restarting) is waited for, not fatal.
        async with opened_store(database, ride_out=StoreOutage()) as store:
            await run_worker(
                store,
                url,
                stop,
                transport=transport,
                concurrency=concurrency,
                grace=grace,
                lease_margin=lease_margin,
                allow_http=config.allow_http,
                org_secrets=org_secrets_for(store),
                ready=ready,
                prune_every=prune_every,
                metrics=counted.metrics,
            )
    finally:
        for stop_listening in unlisten:
            stop_listening()
        await transport.aclose()
        if served is not None:
            await served.cleanup()


@click.command("worker")
@database_option
@click.option(
    "--concurrency",
    default=64,
    show_default=True,
    help="Attempts sending at once (an answered one's result records without its slot).",
)
@click.option(
    "--grace",
    default=10.0,
    show_default=True,
    help="Seconds to let attempts in flight finish after SIGTERM; the rest are sent again "
    "by another worker when their lease runs out.",
)
@click.option(
    "--lease-margin",
    default=30.0,
    show_default=True,
    help="Seconds a lease outlives an attempt's timeout. If this worker dies, its work is "
    "taken over that long after the attempt's timeout would have passed.",
)
@click.option("--wake-fd", type=int, hidden=True, help="A pipe `callout serve` wakes us through.")
@log_format_option
@metrics_port_option
@metrics_host_option
@host_labels_option
def worker_command(
    database: str | None,
    concurrency: int,
    grace: float,
    lease_margin: float,
    wake_fd: int | None,
    log_format: str,
    metrics_port: int | None,
    metrics_host: str,
    metrics_host_labels: bool,
) -> None:
    """Execute due work from the store until SIGTERM or SIGINT (then exit 0).

    Run any number of workers, on any number of machines, against one
    PostgreSQL database (CALLOUT_DATABASE_URL=postgresql://...). Organizations'
    secrets are decrypted with CALLOUT_SECRET_KEY (the key `callout serve` or
    `callout api` uses); runs of `callout run --detach` read CALLOUT_SECRET_<NAME>.

    A database outage (a restart, a failover, SQLite locked past
    CALLOUT_SQLITE_BUSY_TIMEOUT) is ridden out: one log line, capped backoff,
    attempts in flight kept and recorded once the database is back.

    Every CALLOUT_PRUNE_EVERY seconds (600; 0: never) one worker, chosen by the
    database, deletes what is past each organization's retention, in short
    batches (docs/ops/retention.md; `callout db prune --dry-run` says what).

    With --metrics-port it serves its numbers at /metrics in Prometheus's text
    format (docs/metrics.md); under `callout serve` they appear on serve's own
    /metrics instead.
    """
    configure_logging(log_format)
    try:
        config = TransportConfig.from_env()
        prune_every = prune_every_setting(os.environ)
    except ValueError as exc:
        announce(f"invalid setting: {exc}", level=logging.ERROR)
        sys.exit(2)
    counted = worker_metrics(host_labels=metrics_host_labels, serve_it=metrics_port is not None)
    address = (metrics_host, metrics_port) if metrics_port is not None else None
    freeze_startup_objects()  # short collector pauses (cli/heap.py)
    run(
        work(
            database,
            concurrency,
            grace,
            lease_margin,
            config,
            wake_fd,
            prune_every,
            metrics=counted,
            metrics_address=address,
        )
    )
