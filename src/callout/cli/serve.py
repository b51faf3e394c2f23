"""`callout serve` (the API, with a worker in a child process) and `callout api` (the API alone)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import click
import uvicorn

from callout.api import ApiContext, create_app
from callout.cli.event_loop import run
from callout.cli.heap import freeze_startup_objects
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
        click.echo(f"cannot start: {exc}", err=True)
        sys.exit(EXIT_SETTINGS)
    if loaded.created:
        click.echo(
            f"created a secret key at {loaded.source} (mode 0600): it encrypts stored "
            "secrets; back it up, and give the same key to every callout process "
            "(CALLOUT_SECRET_KEY)",
            err=True,
        )
    else:
        click.echo(
            f"secret key from {loaded.source} (fingerprint {loaded.cipher.fingerprint})", err=True
        )
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
) -> None:
    stop = stop_on_signals()
    loaded = _secret_key(create=with_worker)
    transport = AiohttpTransport(config)
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
            freeze_startup_objects()  # short collector pauses: the loop is never held long
            server = _Server(
                uvicorn.Config(
                    app,
                    host=host,
                    port=port,
                    lifespan="off",
                    log_level="info",
                    access_log=False,
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
                tasks.append(
                    asyncio.create_task(supervise_worker(arguments, pipe, stop, grace=grace))
                )
            click.echo(
                f"callout {'serving' if with_worker else 'API'} on http://{host}:{port} "
                f"(dashboard: http://{host}:{port}/, API docs: http://{host}:{port}/docs); "
                "stop: Ctrl-C or SIGTERM",
                err=True,
            )
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([stopping, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            server.should_exit = True
            await asyncio.gather(*tasks)
            if pipe is not None:
                pipe.close()
            if not server.started:
                click.echo(f"cannot listen on {host}:{port}", err=True)
                sys.exit(EXIT_SETTINGS)
    finally:
        await transport.aclose()


def _transport_config() -> TransportConfig:
    try:
        return TransportConfig.from_env()
    except ValueError as exc:
        click.echo(f"invalid setting: {exc}", err=True)
        sys.exit(EXIT_SETTINGS)


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
port_option = click.option("--port", default=8000, show_default=True, help="Port to listen on.")


@click.command("serve")
@database_option
@host_option
@port_option
@click.option("--concurrency", default=64, show_default=True, help="Attempts in flight at once.")
@click.option(
    "--grace", default=10.0, show_default=True, help="Seconds to finish attempts on stop."
)
@click.option(
    "--lease-margin", default=30.0, show_default=True, help="Seconds a lease outlives a timeout."
)
def serve_command(
    database: str | None, host: str, port: int, concurrency: int, grace: float, lease_margin: float
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
    """  # noqa: D301
    _logging()
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
        )
    )


@click.command("api")
@database_option
@host_option
@port_option
def api_command(database: str | None, host: str, port: int) -> None:
    """Run the API and dashboard alone, beside `callout worker` processes (PostgreSQL).

    \b
    The dashboard is at http://HOST:PORT/, the API at /v1, its description at
    /openapi.json and interactive docs at /docs.

    \b
    Every API and worker process must have the same CALLOUT_SECRET_KEY (or
    CALLOUT_SECRET_KEY_FILE); `callout api` does not create one.
    """  # noqa: D301
    _logging()
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
        )
    )
