"""Engine throughput against the raw HTTP client, measured in the same run.

N one-step workflows (a signed JSON POST to a local HTTPS server) are recorded,
then drained by `callout worker` processes; the baseline sends the same N
requests with aiohttp directly, with the same total concurrency.

    .venv/bin/python benchmarks/throughput.py                      # SQLite, 1 worker
    .venv/bin/python benchmarks/throughput.py --database postgresql --workers 1 2 4 --delay 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import time

import aiohttp
from harness import Server, count_runs, fresh_store, https_server, start_workers, stop_workers

from callout.engine.starting import start_run
from callout.model.clock import SystemClock
from callout.steps.validation import validate_workflow
from callout.store.sql_store import SqlStore


async def raw_client(server: Server, requests: int, concurrency: int) -> float:
    """Send the requests with aiohttp directly; return requests/s."""
    context = ssl.create_default_context(cafile=str(server.ca))
    limit = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(ssl=context, limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with limit, session.post(server.url, data=b'{"email":"a@b.c"}') as response:
                await response.read()
                assert response.status == 201

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        return requests / (time.perf_counter() - started)


async def record_runs(store: SqlStore, server: Server, count: int) -> None:
    """Record `count` runs of a one-step signed POST workflow."""
    workflow = validate_workflow(
        {
            "name": "bench",
            "steps": [
                {
                    "id": "create_user",
                    "action": "make_https_request",
                    "url": server.url,
                    "body": {"email": "{{ trigger.email }}"},
                    "secret": "{{ secrets.sig }}",
                }
            ],
        }
    )
    clock = SystemClock()
    for _ in range(count):
        await start_run(store, workflow, {"email": "a@b.c"}, clock=clock)


async def engine(kind: str, server: Server, requests: int, workers: int, concurrency: int) -> float:
    """Drain `requests` recorded runs with `workers` processes; return runs/s."""
    async with fresh_store(kind) as (url, store):
        await record_runs(store, server, requests)
        env = {**server.env(url), "CALLOUT_SECRET_SIG": "s3cr3t"}
        started = time.perf_counter()
        processes = await start_workers(workers, env, "--concurrency", str(concurrency))
        try:
            while await count_runs(store, "completed") < requests:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            await stop_workers(processes)
        failed = await store.list_runs(status="failed", limit=1)
        assert not failed, failed
        return requests / elapsed


def main() -> None:
    """Print runs/s per worker count, the raw client's requests/s, and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--concurrency", type=int, default=32, help="per worker")
    parser.add_argument("--delay", type=float, default=0.0, help="server answer delay, seconds")
    args = parser.parse_args()
    with https_server(args.delay) as server:
        figures = {
            n: asyncio.run(engine(args.database, server, args.requests, n, args.concurrency))
            for n in args.workers
        }
        raw = asyncio.run(raw_client(server, args.requests, args.concurrency * max(args.workers)))
    print(
        f"database {args.database}, {args.requests} runs, concurrency {args.concurrency}/worker, server delay {args.delay}s"
    )
    print(f"raw aiohttp, concurrency {args.concurrency * max(args.workers)}: {raw:8.0f} requests/s")
    base = figures[args.workers[0]]
    for count, rate in figures.items():
        print(
            f"{count} worker(s): {rate:8.0f} runs/s  ratio to raw {rate / raw:5.2f}  to {args.workers[0]} worker(s) {rate / base:5.2f}"
        )
    print(
        "reproduce: .venv/bin/python benchmarks/throughput.py "
        + " ".join(
            [
                "--database",
                args.database,
                "--requests",
                str(args.requests),
                "--workers",
                *map(str, args.workers),
                "--concurrency",
                str(args.concurrency),
                "--delay",
                str(args.delay),
            ]
        )
    )


if __name__ == "__main__":
    main()
