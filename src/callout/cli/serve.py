"""`callout serve` (the API, with a worker in a child process) and `callout api` (the API alone)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sys
from collections.abc import Iterator

import click
import uvicorn

from callout.api import ApiContext, create_app
from callout.api.metrics_route import install_metrics
from callout.cli.event_loop import run
from callout.cli.heap import freeze_startup_objects
from callout.cli.log_format import announce, configure_logging, log_format_option
from callout.cli.metrics_directory import (
    MULTIPROCESS_ENV,
    drop_live_numbers,
    metrics_base,
    worker_metrics_directory,
)
from callout.cli.metrics_options import api_metrics_page, host_labels_option
from callout.cli.store_access import database_option, opened_store
from callout.cli.worker import stop_on_signals
from callout.cli.worker_process import WakePipe, supervise_worker
from callout.http import AiohttpTransport, TransportConfig
from callout.store.encryption import LoadedKey, SecretKeyError, load_secret_key
from callout.web import install_dashboard

EXIT_SETTINGS = 2


class _Server(uvicorn.Server):
    """uvicorn, with signals left to callout (one stop for the API and the worker)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signal handling to the caller."""
        yield


def _secret_key(*, create: bool) -> LoadedKey:
    try:
        loaded = load_secret_key(os.environ, create=create)
    except SecretKeyError as exc:
        announce(f"cannot start: {exc}", level=logging.ERROR)
        sys.exit(EXIT_SETTINGS)
    if loaded.created:
        announce(
            f"created a secret key at {loaded.source} (mode 0600): it encrypts stored "
            "secrets; back it up, and give the same key to every callout process "
            "(CALLOUT_SECRET_KEY)"
        )
    else:
        announce(f"secret key from {loaded.source} (fingerprint {loaded.cipher.fingerprint})")
    return loaded


async def _serve(
    database: str | None,
    host: str,
    port: int,
    *,
    with_worker: bool,
    concurrency: int,
    grace: float,
    lease_margin: float,
    config: TransportConfig,
    log_format: str = "plain",
    host_labels: bool = False,
) -> None:
    stop = stop_on_signals()
    loaded = _secret_key(create=with_worker)
    transport = AiohttpTransport(config)
    # The worker child writes its numbers to files there; /metrics adds them up.
    directories = contextlib.ExitStack()
    worker_files = (
        directories.enter_context(worker_metrics_directory(metrics_base())) if with_worker else None
    )
    try:
        async with opened_store(database) as store:
            context = ApiContext(
                store=store,
                cipher=loaded.cipher,
                transport=transport,
                allow_http=config.allow_http,
            )
            app = create_app(context)
            install_dashboard(app)
            install_metrics(
                app, api_metrics_page(store, worker_files=worker_files, host_labels=host_labels)
            )
            freeze_startup_objects()  # short collector pauses: the loop is never held long
            server = _Server(
                uvicorn.Config(
                    app,
                    host=host,
                    port=port,
                    lifespan="off",
                    log_level="info",
                    access_log=False,
                    # JSON: uvicorn's lines go through callout's handler (cli/log_format.py).
                    log_config=None if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
                )
            )
            tasks = [asyncio.create_task(server.serve())]
            pipe = WakePipe() if with_worker else None
            if pipe is not None:
                # The worker in a process of its own: the API and the worker each get a core.
                context.new_work = pipe.wake
                arguments = [
                    "--concurrency",
                    str(concurrency),
                    "--grace",
                    str(grace),
                    "--lease-margin",
                    str(lease_margin),
                ]
                if database is not None:
                    arguments += ["--database", database]
                arguments += ["--log-format", log_format]
                if host_labels:
                    arguments.append("--metrics-host-labels")
                assert worker_files is not None  # noqa: S101 - made above for a worker
                tasks.append(
                    asyncio.create_task(
                        supervise_worker(
                            arguments,
                            pipe,
                            stop,
                            grace=grace,
                            # Set before the child loads prometheus_client: it writes files.
                            env={**os.environ, MULTIPROCESS_ENV: str(worker_files)},
                            on_exit=functools.partial(drop_live_numbers, worker_files),
                        )
                    )
                )
            announce(
                f"callout {'serving' if with_worker else 'API'} on http://{host}:{port} "
                f"(dashboard: http://{host}:{port}/, API docs: http://{host}:{port}/docs); "
                "stop: Ctrl-C or SIGTERM"
            )
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([stopping, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            server.should_exit = True
            await asyncio.gather(*tasks)
            if pipe is not None:
                pipe.close()
            if not server.started:
                announce(f"cannot listen on {host}:{port}", level=logging.ERROR)
                sys.exit(EXIT_SETTINGS)
    finally:
        await transport.aclose()
        directories.close()


def _transport_config() -> TransportConfig:
    try:
        return TransportConfig.from_env()
    except ValueError as exc:
        announce(f"invalid setting: {exc}", level=logging.ERROR)
        sys.exit(EXIT_SETTINGS)


host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
port_option = click.option("--port", default=8000, show_default=True, help="Port to listen on.")


@click.command("serve")
@database_option
@host_option
@port_option
@click.option(
    "--concurrency",
    default=64,
    show_default=True,
    help="Attempts sending at once (an answered one's result records without its slot).",
)
@click.option(
    "--grace", default=10.0, show_default=True, help="Seconds to finish attempts on stop."
)
@click.option(
    "--lease-margin", default=30.0, show_default=True, help="Seconds a lease outlives a timeout."
)
@log_format_option
@host_labels_option
def serve_command(
    database: str | None,
    host: str,
    port: int,
    concurrency: int,
    grace: float,
    lease_margin: float,
    log_format: str,
    metrics_host_labels: bool,
) -> None:
    """Run the API, and a worker in a child process (SQLite by default: ./callout.db).

    \b
    The worker runs in a process of its own (each gets a core), woken when
    the API starts runs; if it dies it is started again, and it stops when
    serve stops (or dies).

    \b
    The API is at http://HOST:PORT/v1, its description at /openapi.json and
    interactive docs at /docs. Make an organization and its first API key with
    `callout orgs create NAME --plan growth`.

    \b
    Stored secrets are encrypted with CALLOUT_SECRET_KEY; without it, serve
    creates .callout/secret.key (mode 0600) on first start and says so
    (CALLOUT_SECRET_KEY_FILE chooses another path).

    \b
    Prometheus metrics (the API's and the worker's) are at /metrics, answered
    to this machine only unless CALLOUT_METRICS_TOKEN is set (docs/metrics.md).
    """  # noqa: D301
    configure_logging(log_format)
    run(
        _serve(
            database,
            host,
            port,
            with_worker=True,
            concurrency=concurrency,
            grace=grace,
            lease_margin=lease_margin,
            config=_transport_config(),
            log_format=log_format,
            host_labels=metrics_host_labels,
        )
    )


@click.command("api")
@database_option
@host_option
@port_option
@log_format_option
@host_labels_option
def api_command(
    database: str | None, host: str, port: int, log_format: str, metrics_host_labels: bool
) -> None:
    """Run the API and dashboard alone, beside `callout worker` processes (PostgreSQL).

    \b
    The dashboard is at http://HOST:PORT/, the API at /v1, its description at
    /openapi.json and interactive docs at /docs.

    \b
    Every API and worker process must have the same CALLOUT_SECRET_KEY (or
    CALLOUT_SECRET_KEY_FILE); `callout api` does not create one.

    \b
    Prometheus metrics (the API's requests and the due backlog) are at
    /metrics, answered to this machine only unless CALLOUT_METRICS_TOKEN is
    set; each worker serves its own with --metrics-port (docs/metrics.md).
    """  # noqa: D301
    configure_logging(log_format)
    run(
        _serve(
            database,
            host,
            port,
            with_worker=False,
            concurrency=0,
            grace=0.0,
            lease_margin=0.0,
            config=_transport_config(),
            log_format=log_format,
            host_labels=metrics_host_labels,
        )
    )
