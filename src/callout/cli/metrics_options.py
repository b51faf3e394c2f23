"""The metrics settings of `serve`, `api` and `worker`, and the `/metrics` page each one answers.

- `serve`: the API's page holds the API's numbers, the due backlog, the paused
  hosts (docs/delivery-control.md), and its worker child's numbers, read from
  the files the child writes in a private directory (prometheus_client's
  multiprocess mode, `metrics_directory.py`).
- `api`: the API's numbers, the due backlog and the paused hosts.
- `worker --metrics-port`: the worker's numbers, on a port of its own
  (`worker_metrics.py`); without the option a standalone worker counts nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from callout.cli.metrics_directory import MULTIPROCESS_ENV
from callout.engine.metrics import NO_METRICS, EngineMetrics
from callout.engine.metrics_access import TOKEN_ENV
from callout.engine.metrics_exposition import (
    DueBacklogCollector,
    MetricsPage,
    PausedHostsCollector,
)
from callout.engine.prometheus_metrics import PrometheusEngineMetrics
from callout.store.due_backlog import DueBacklog, read_due_backlog
from callout.store.sql_store import SqlStore

HOST_LABELS_ENV = "CALLOUT_METRICS_HOST_LABELS"

host_labels_option = click.option(
    "--metrics-host-labels",
    is_flag=True,
    envvar=HOST_LABELS_ENV,
    help="Label attempt metrics with the host they went to, and show paused hosts by host "
    "(at most 100 hosts named, the rest 'other'). Off by default: hosts may come from "
    f"payloads. [env: {HOST_LABELS_ENV}]",
)
metrics_port_option = click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve this worker's /metrics on this port (Prometheus text format). Only "
    f"loopback clients are answered unless {TOKEN_ENV} is set (then: Authorization: "
    "Bearer <token>).",
)
metrics_host_option = click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address --metrics-port listens on.",
)


def metrics_token() -> str | None:
    """Return the token scrapers must send (`CALLOUT_METRICS_TOKEN`), or None: loopback only."""
    return os.environ.get(TOKEN_ENV) or None


def api_metrics_page(
    store: SqlStore, *, worker_files: Path | None, host_labels: bool = False
) -> MetricsPage:
    """Return the API's page: its numbers, the due backlog, paused hosts, `worker_files`' numbers.

    `host_labels`: the paused hosts are also shown by host (`--metrics-host-labels`).
    """
    registry = CollectorRegistry()
    if worker_files is not None:
        MultiProcessCollector(registry, path=str(worker_files))  # type: ignore[no-untyped-call]

    async def backlog() -> DueBacklog:
        return await store.read(read_due_backlog)

    return MetricsPage(
        registry,
        token=metrics_token(),
        backlog=DueBacklogCollector(backlog),
        paused_hosts=PausedHostsCollector(store.delivery.paused_hosts, host_labels=host_labels),
    )


@dataclass(frozen=True, slots=True)
class WorkerMetrics:
    """What a worker counts into, and the page that shows it (None: nobody scrapes it)."""

    metrics: EngineMetrics
    page: MetricsPage | None


def worker_metrics(*, host_labels: bool, serve_it: bool) -> WorkerMetrics:
    """Return the worker's metrics: in files under serve, in its registry for `--metrics-port`."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        # serve's child (the variable was set before prometheus_client was loaded): its
        # numbers go to files there; its own page, if asked for, adds them up too.
        counted = PrometheusEngineMetrics(None, host_labels=host_labels)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        page = MetricsPage(registry, token=metrics_token()) if serve_it else None
        return WorkerMetrics(counted, page)
    if not serve_it:
        return WorkerMetrics(NO_METRICS, None)
    registry = CollectorRegistry()
    counted = PrometheusEngineMetrics(registry, host_labels=host_labels)
    return WorkerMetrics(counted, MetricsPage(registry, token=metrics_token()))
