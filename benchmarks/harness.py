"""What every benchmark needs: a local HTTPS server in its own process, fresh databases, workers.

Not part of the test suite. Each benchmark prints its figures and the command
that reproduces them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import socket
import ssl
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import sqlalchemy as sa
import trustme
from aiohttp import web

from callout.model.ids import new_id
from callout.store.database import database_url
from callout.store.sql_store import SqlStore, open_store
from callout.store.tables import attempts, runs, step_runs

POSTGRES = os.environ.get("CALLOUT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _serve(cert_dir: str, delay: float, queue: Any) -> None:
    """Answer every POST with 201 after `delay`; report arrivals (key, time) on request."""
    arrivals: list[tuple[str, float]] = []

    async def handle(request: web.Request) -> web.Response:
        arrivals.append((request.headers.get("Idempotency-Key", ""), time.time()))
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"id": "usr_1"}, status=201)

    async def report(_: web.Request) -> web.Response:
        return web.json_response(arrivals)

    async def main() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(f"{cert_dir}/server.pem")
        app = web.Application()
        app.router.add_post("/users", handle)
        app.router.add_get("/arrivals", report)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context, backlog=4096)
        await site.start()
        queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


@dataclass(frozen=True)
class Server:
    """A running benchmark server."""

    url: str
    ca: Path
    cert_dir: Path

    def env(self, database: str) -> dict[str, str]:
        """Environment for a `callout worker` that may reach this server."""
        return {
            "CALLOUT_DATABASE_URL": database,
            "CALLOUT_CA_BUNDLE": str(self.ca),
            "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32",
        }


@contextmanager
def https_server(delay: float = 0.0) -> Iterator[Server]:
    """Start the server in its own process (so it does not share our event loop)."""
    with tempfile.TemporaryDirectory() as cert_dir:
        ca = trustme.CA()
        ca.cert_pem.write_to_path(f"{cert_dir}/ca.pem")
        ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
            f"{cert_dir}/server.pem"
        )
        ports: Any = multiprocessing.Queue()
        process = multiprocessing.Process(target=_serve, args=(cert_dir, delay, ports), daemon=True)
        process.start()
        try:
            port = ports.get(timeout=20)
            yield Server(
                f"https://127.0.0.1:{port}/users", Path(cert_dir) / "ca.pem", Path(cert_dir)
            )
        finally:
            process.terminate()
            process.join(5)


@asynccontextmanager
async def fresh_store(kind: str) -> AsyncIterator[tuple[str, SqlStore]]:
    """A fresh, upgraded database of `kind` ("sqlite" or "postgresql"), dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = str(Path(folder) / "bench.db")
            store = await open_store(database_url(url))
            try:
                yield url, store
            finally:
                await store.close()
        return
    name = f"callout_bench_{secrets.token_hex(4)}"
    admin = sa.make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await psycopg.AsyncConnection.connect(admin, autocommit=True)
    await conn.execute(f"CREATE DATABASE {name}")
    url = sa.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    store = await open_store(database_url(url))
    try:
        yield url, store
    finally:
        await store.close()
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.close()


async def start_workers(
    count: int, env: dict[str, str], *extra: str
) -> list[asyncio.subprocess.Process]:
    """Start `count` `callout worker` processes."""
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "callout",
            "worker",
            *extra,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


async def stop_workers(workers: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM every worker and wait for it."""
    for worker in workers:
        if worker.returncode is None:
            worker.terminate()
    for worker in workers:
        await worker.wait()


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    """Return the `fraction` percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def one_step_document(url: str) -> dict[str, Any]:
    """A one-step workflow that POSTs to `url`."""
    return {
        "name": "bench",
        "steps": [{"id": "a", "action": "make_https_request", "url": url, "body": {"n": 1}}],
    }


async def insert_waiting_retries(store: SqlStore, url: str, due_times: list[float]) -> list[str]:
    """Write one run per due time whose only step waits for a retry then; return step run ids.

    Written in bulk, straight into the tables (as if each first attempt had failed),
    so that building a million pending retries takes seconds, not hours.
    """
    now = time.time()
    document = one_step_document(url)
    step_run_ids: list[str] = []
    chunk = 5000
    for start in range(0, len(due_times), chunk):
        run_rows, step_rows, attempt_rows = [], [], []
        for due in due_times[start : start + chunk]:
            run_id, step_run_id = new_id("wfr"), new_id("stp")
            step_run_ids.append(step_run_id)
            run_rows.append(
                {
                    "id": run_id,
                    "workflow_name": "bench",
                    "document": document,
                    "trigger": {},
                    "status": "running",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            step_rows.append(
                {
                    "id": step_run_id,
                    "run_id": run_id,
                    "position": 0,
                    "step_id": "a",
                    "status": "waiting",
                    "due_at": due,
                    "attempts_made": 1,
                    "interruptions": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            attempt_rows.append(
                {
                    "id": new_id("att"),
                    "step_run_id": step_run_id,
                    "number": 1,
                    "status": "failed",
                    "started_at": now,
                    "ended_at": now,
                    "next_attempt_at": due,
                }
            )
        with store.engine.begin() as conn:
            conn.execute(runs.insert(), run_rows)
            conn.execute(step_runs.insert(), step_rows)
            conn.execute(attempts.insert(), attempt_rows)
    return step_run_ids


def rss_kib(pid: int) -> int:
    """Return a process's resident set size in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def arrivals(server: Server) -> dict[str, float]:
    """Return when each idempotency key first reached the server."""
    context = ssl.create_default_context(cafile=str(server.ca))
    connector = aiohttp.TCPConnector(ssl=context)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(server.url.replace("/users", "/arrivals")) as response,
    ):
        pairs = await response.json()
    first: dict[str, float] = {}
    for key, at in pairs:
        first.setdefault(key, at)
    return first


async def count_runs(store: SqlStore, status: str) -> int:
    """Count runs with `status` (cheaply: the benchmark must not load the store it measures)."""

    def count() -> int:
        with store.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(runs).where(runs.c.status == status)
            return int(conn.execute(query).scalar_one())

    return await asyncio.to_thread(count)
