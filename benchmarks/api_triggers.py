"""Trigger calls per second through `callout api`, against `/healthz` on the same server.

`/healthz` is the baseline: the same process, uvicorn, FastAPI and loopback,
with no key lookup and no store write. The ratio says what a trigger costs
beyond the framework (authenticate, read the live version, check the payload,
write the run and the call record durably). No worker runs, so nothing is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import aiohttp
from harness import free_port, fresh_store, percentile

from callout.store.encryption import new_key_text


async def _callout(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callout", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    return out.decode()


async def _load(
    session: aiohttp.ClientSession, count: int, concurrency: int, call: str
) -> tuple[float, list[float]]:
    """Make `count` calls with `concurrency` in flight; return calls/s and latencies (s)."""
    latencies: list[float] = []
    queue = iter(range(count))

    async def one_client() -> None:
        for number in queue:
            started = time.perf_counter()
            if call == "healthz":
                async with session.get("/healthz") as response:
                    assert response.status == 200
            else:
                async with session.post(
                    call,
                    json={"payload": {"id": f"inq_{number}"}},
                    headers={"Idempotency-Key": f"bench-{number}"},
                ) as response:
                    assert response.status == 202, await response.text()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return count / (time.perf_counter() - began), latencies


async def measure(kind: str, count: int, concurrency: int) -> None:
    async with fresh_store(kind) as (url, _):  # the store stays idle; `callout api` writes
        port = free_port()
        env = {**os.environ, "CALLOUT_DATABASE_URL": url, "CALLOUT_SECRET_KEY": new_key_text()}
        key = json.loads(await _callout(env, "orgs", "create", "Bench", "--json"))["api_key"]
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
            headers = {"Authorization": f"Bearer {key}"}
            async with aiohttp.ClientSession(
                f"http://127.0.0.1:{port}", headers=headers
            ) as session:
                for _ in range(200):
                    try:
                        async with session.get("/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05)
                document = {
                    "name": "Bench",
                    "trigger": {"schema": {"type": "object", "required": ["id"]}},
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
                await _load(session, 200, concurrency, "healthz")  # warm up
                health, _ = await _load(session, count, concurrency, "healthz")
                rate, latencies = await _load(
                    session, count, concurrency, f"/v1/workflows/{workflow_id}/trigger"
                )
        finally:
            api.terminate()
            await api.wait()
    print(f"database {kind}, {count} calls, concurrency {concurrency}")
    print(f"GET /healthz:   {health:8.0f} calls/s (baseline)")
    print(
        f"POST trigger:   {rate:8.0f} calls/s  ratio to baseline {rate / health:5.2f}  "
        f"latency p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
    )


def main() -> None:
    """Print trigger calls/s and the ratio to /healthz on the same server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(measure(args.database, args.calls, args.concurrency))
    print(
        f"reproduce: .venv/bin/python benchmarks/api_triggers.py --database {args.database} "
        f"--calls {args.calls} --concurrency {args.concurrency}"
    )


if __name__ == "__main__":
    main()
