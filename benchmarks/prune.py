"""Prune rate (runs deleted per second), and trigger latency while a prune runs vs without.

Fills a fresh database with old finished runs (one step run and one attempt
each, with small bodies) straight in SQL, starts `callout api`, and sends
triggers at a steady rate (open loop: each is sent on schedule, whatever the
ones before it do). It measures trigger latency first with nothing else going
on, then while `callout db prune` (another process, as a worker would be)
deletes every old run; then fills again and prunes with no triggers, for the
rate alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp
from harness import free_port, fresh_store, percentile

from callout.store.encryption import new_key_text
from callout.store.sql_store import SqlStore
from callout.store.tables import attempts, runs, step_runs

DAY = 86400.0
CHUNK = 5000


def fill(store: SqlStore, org_id: str, count: int, tag: str) -> None:
    """Insert `count` finished runs of `org_id` made 40 days ago (a fixture, not the product path).

    On PostgreSQL the tables are then analyzed, as autovacuum would have done long
    before a store held 40-day-old runs: fresh tables without statistics make the
    planner scan whole tables for a batch's 500 ids.
    """
    made = time.time() - 40 * DAY
    body = "x" * 200
    for start in range(0, count, CHUNK):
        numbers = range(start, min(count, start + CHUNK))
        with store.engine.begin() as conn:
            conn.execute(
                runs.insert(),
                [
                    {
                        "id": f"wfr_{tag}{n:012d}",
                        "workflow_name": "old",
                        "document": {"name": "old"},
                        "trigger": {"n": n, "note": body},
                        "status": "completed",
                        "created_at": made + n / 1000,  # a thousand runs a second
                        "updated_at": made,
                        "finished_at": made,
                        "org_id": org_id,
                    }
                    for n in numbers
                ],
            )
            conn.execute(
                step_runs.insert(),
                [
                    {
                        "id": f"stp_{tag}{n:012d}",
                        "run_id": f"wfr_{tag}{n:012d}",
                        "position": 0,
                        "step_id": "call",
                        "status": "succeeded",
                        "output": {"status": 201, "headers": {}, "body": {"echo": body}},
                        "created_at": made,
                        "updated_at": made,
                    }
                    for n in numbers
                ],
            )
            conn.execute(
                attempts.insert(),
                [
                    {
                        "id": f"att_{tag}{n:012d}",
                        "step_run_id": f"stp_{tag}{n:012d}",
                        "number": 1,
                        "status": "succeeded",
                        "started_at": made,
                        "ended_at": made,
                        "http_status": 201,
                        "request": {
                            "method": "POST",
                            "url": "https://x.test/",
                            "headers": [],
                            "body": body,
                        },
                        "response": {
                            "status": 201,
                            "headers": [],
                            "body": body,
                            "body_truncated": False,
                        },
                    }
                    for n in numbers
                ],
            )
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE runs, step_runs, attempts")


async def _callout(env: dict[str, str], *args: str) -> tuple[str, float]:
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callout", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    return out.decode(), time.perf_counter() - began


async def _triggers(
    session: aiohttp.ClientSession, path: str, rate: float, done: asyncio.Event
) -> list[float]:
    """Send a trigger every 1/`rate` s until `done`; return each one's latency (s)."""
    latencies: list[float] = []
    sent: set[asyncio.Task[None]] = set()

    async def one(number: int) -> None:
        began = time.perf_counter()
        async with session.post(path, json={"payload": {"id": f"t{number}"}}) as response:
            assert response.status == 202, await response.text()
        latencies.append(time.perf_counter() - began)

    number = 0
    start = time.perf_counter()
    while not done.is_set():
        number += 1
        task = asyncio.create_task(one(number))
        sent.add(task)
        task.add_done_callback(sent.discard)
        await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
    await asyncio.gather(*sent)
    return latencies


def _line(name: str, latencies: list[float]) -> str:
    return (
        f"{name:<28} {len(latencies):>6} triggers  p50 {percentile(latencies, 0.5) * 1000:6.1f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1000:6.1f} ms  max {max(latencies) * 1000:6.1f} ms"
    )


async def _prune(env: dict[str, str], batch: int) -> dict[str, Any]:
    out, _ = await _callout(env, "db", "prune", "--json", "--batch", str(batch))
    report: dict[str, Any] = json.loads(out)
    return report


async def measure(kind: str, count: int, rate: float, baseline_seconds: float, batch: int) -> None:
    async with fresh_store(kind) as (url, store):
        env = {**os.environ, "CALLOUT_DATABASE_URL": url, "CALLOUT_SECRET_KEY": new_key_text()}
        made = json.loads((await _callout(env, "orgs", "create", "Bench", "--json"))[0])
        org_id, key = made["organization"]["id"], made["api_key"]
        began = time.perf_counter()
        await asyncio.to_thread(fill, store, org_id, count, "A")
        print(f"filled {count:,} old runs in {time.perf_counter() - began:.1f} s ({kind})")
        port = free_port()
        api = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "callout",
            "api",
            "--port",
            str(port),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with aiohttp.ClientSession(
                f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
            ) as session:
                for _ in range(400):
                    try:
                        async with session.get("/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05)
                document = {
                    "name": "Bench",
                    "steps": [
                        {
                            "id": "call",
                            "action": "make_https_request",
                            "url": "https://example.com/x",
                        }
                    ],
                }
                async with session.post("/v1/workflows", json={"document": document}) as response:
                    workflow_id = (await response.json())["workflow"]["id"]
                async with session.post(f"/v1/workflows/{workflow_id}/publish") as response:
                    assert response.status == 200
                path = f"/v1/workflows/{workflow_id}/trigger"
                warm = asyncio.Event()
                asyncio.get_running_loop().call_later(1.0, warm.set)
                await _triggers(session, path, rate, warm)

                quiet = asyncio.Event()
                asyncio.get_running_loop().call_later(baseline_seconds, quiet.set)
                without = await _triggers(session, path, rate, quiet)

                pruned = asyncio.Event()
                during_task = asyncio.create_task(_triggers(session, path, rate, pruned))
                report = await _prune(env, batch)
                pruned.set()
                during = await during_task
        finally:
            api.terminate()
            await api.wait()
        await asyncio.to_thread(fill, store, org_id, count, "B")
        alone = await _prune(env, batch)

    loaded_rate = report["removed"]["runs"] / report["seconds"]
    alone_rate = alone["removed"]["runs"] / alone["seconds"]
    print(f"database {kind}, {count:,} old runs, batch {batch}, triggers at {rate:g}/s")
    print(
        f"prune alone:        {alone['removed']['runs']:,} runs in {alone['seconds']:.1f} s = {alone_rate:,.0f} runs/s ({alone['batches']} batches)"
    )
    print(
        f"prune under load:   {report['removed']['runs']:,} runs in {report['seconds']:.1f} s = {loaded_rate:,.0f} runs/s"
    )
    print(_line("trigger, nothing else", without))
    print(_line("trigger, during the prune", during))


def main() -> None:
    """Print the prune rate and trigger latency with and without a prune."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=50.0, help="triggers per second")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(measure(args.database, args.runs, args.rate, args.baseline_seconds, args.batch))
    print(
        f"reproduce: .venv/bin/python benchmarks/prune.py --database {args.database} "
        f"--runs {args.runs} --rate {args.rate:g} --batch {args.batch}"
    )


if __name__ == "__main__":
    main()
