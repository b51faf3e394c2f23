"""The whole path, end to end: an HTTP event in, a signed HTTPS request out, durably.

It starts the real processes (`callout serve`, or `callout api` plus N
`callout worker`), makes an organization, a signing secret and a published
event workflow through `/v1`, and measures, in one run: raw (aiohttp POSTs
straight to the receiver), callout (events sent to `/v1/events`, each
delivered as one signed POST), raw again. The receiver is an aiohttp TLS
server in its own process. Every event must arrive exactly once.

    .venv/bin/python benchmarks/e2e.py                                   # serve, SQLite
    .venv/bin/python benchmarks/e2e.py --mode api --workers 2 --database postgresql
    .venv/bin/python benchmarks/e2e.py --idle 200                        # trigger -> arrival
    .venv/bin/python benchmarks/e2e.py --mode api --database postgresql --workers 1 4 \\
        --delay 0.05 --worker-concurrency 16 --events 1500               # worker scaling
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from harness import Server, free_port, fresh_store, https_server, percentile

from callout.store.encryption import new_key_text

EVENT = "bench.event"
CONCURRENCY = 32


@dataclass(frozen=True)
class Callout:
    """The running callout processes and how to reach them."""

    base: str
    key: str
    processes: list[asyncio.subprocess.Process]


async def _cli(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callout", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, f"callout {' '.join(args)} failed"
    return out.decode()


def _spawn(env: dict[str, str], *args: str) -> asyncio.Future[asyncio.subprocess.Process]:
    return asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "callout",
            *args,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    )


@asynccontextmanager
async def running_callout(
    url: str,
    server: Server,
    *,
    mode: str,
    workers: int,
    worker_concurrency: int,
) -> AsyncIterator[Callout]:
    """Start `callout serve` or `callout api` + `workers` workers; stop them afterwards."""
    port = free_port()
    env = {
        **os.environ,
        **server.env(url),
        "CALLOUT_SECRET_KEY": new_key_text(),
    }
    key = json.loads(await _cli(env, "orgs", "create", "Bench", "--json"))["api_key"]
    processes: list[asyncio.subprocess.Process] = []
    if mode == "serve":
        processes.append(
            await _spawn(
                env, "serve", "--port", str(port), "--concurrency", str(worker_concurrency)
            )
        )
    else:
        processes.append(await _spawn(env, "api", "--port", str(port)))
        processes += [
            await _spawn(env, "worker", "--concurrency", str(worker_concurrency))
            for _ in range(workers)
        ]
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(base) as session:
            for _ in range(400):
                try:
                    async with session.get("/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("callout did not answer /healthz")
        yield Callout(base, key, processes)
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await process.wait()


async def publish_workflow(session: aiohttp.ClientSession, server: Server) -> None:
    """Make the signing secret and publish a one-step event workflow through /v1."""
    async with session.post("/v1/secrets", json={"name": "sig", "value": "whsec_bench"}) as made:
        assert made.status == 201, await made.text()
    document = {
        "name": "Bench",
        "trigger": {
            "event": EVENT,
            "schema": {"type": "object", "required": ["id"]},
        },
        "steps": [
            {
                "id": "deliver",
                "action": "make_https_request",
                "url": server.url,
                "body": {"id": "{{ trigger.id }}", "run": "{{ run.id }}"},
                "secret": "{{ secrets.sig }}",
            }
        ],
    }
    async with session.post("/v1/workflows", json={"document": document}) as created:
        assert created.status == 201, await created.text()
        workflow_id = (await created.json())["workflow"]["id"]
    async with session.post(f"/v1/workflows/{workflow_id}/publish") as published:
        assert published.status == 200, await published.text()


async def raw(server: Server, count: int, concurrency: int) -> float:
    """Send `count` POSTs straight to the receiver; return requests/s."""
    context = ssl.create_default_context(cafile=str(server.ca))
    connector = aiohttp.TCPConnector(ssl=context, limit=concurrency)
    queue = iter(range(count))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for number in queue:
                async with session.post(
                    server.url,
                    data=b'{"id":"raw"}',
                    headers={"Idempotency-Key": f"raw-{number}"},
                ) as response:
                    await response.read()
                    assert response.status == 201

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return count / (time.perf_counter() - began)


async def receiver_arrivals(server: Server) -> list[tuple[str, float]]:
    """Every request the receiver saw: (Idempotency-Key, arrival time), duplicates kept."""
    context = ssl.create_default_context(cafile=str(server.ca))
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
        session.get(server.url.replace("/users", "/arrivals")) as response,
    ):
        return [(key, at) for key, at in await response.json()]


async def delivered(server: Server, keys_before: int, count: int, limit: float) -> float:
    """Wait until `count` callout deliveries arrived; return the time of the last one."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        seen = [at for key, at in await receiver_arrivals(server) if not key.startswith("raw-")]
        if len(seen) - keys_before >= count:
            return max(seen)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"not every event was delivered within {limit:g} s")


async def send_events(
    session: aiohttp.ClientSession, count: int, concurrency: int, prefix: str
) -> list[float]:
    """Send `count` events with `concurrency` in flight; return each call's latency (s)."""
    latencies: list[float] = []
    queue = iter(range(count))

    async def client() -> None:
        for number in queue:
            began = time.perf_counter()
            async with session.post(
                "/v1/events",
                json={"name": EVENT, "payload": {"id": f"{prefix}-{number}"}},
                headers={"Idempotency-Key": f"{prefix}-{number}"},
            ) as response:
                body = await response.json()
                assert response.status == 202, body
                assert len(body["runs"]) == 1, body
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies


def family(pid: int) -> list[int]:
    """A process and its children (serve's worker), from /proc."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += family(int(child))
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command_of(pid: int) -> str:
    """The callout command a process runs (serve, api, worker)."""
    words = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    return words[words.index("callout") + 1] if "callout" in words else "?"


@asynccontextmanager
async def measured(
    processes: list[asyncio.subprocess.Process], folder: str | None, runs: Callable[[], int]
) -> AsyncIterator[None]:
    """Print each callout process's CPU microseconds per run over the block; profile if asked.

    With `folder`, py-spy records every process (serve's worker too) and its top
    frames are printed.
    """
    pids = [pid for process in processes for pid in family(process.pid)]
    spies = []
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - before measuring
        for pid in pids:
            out = str(Path(folder) / f"{command_of(pid)}-{pid}.txt")
            spy = await asyncio.create_subprocess_exec(
                sys.executable.replace("python", "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                # Only samples where the process holds the interpreter: shares of its
                # CPU, not of its waits (docs/benchmarks.md's profiles are these).
                "--gil",
                "--output",
                out,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            spies.append((spy, out))
        await asyncio.sleep(1.0)  # py-spy attaches
    before = {pid: cpu_seconds(pid) for pid in pids}
    try:
        yield
    finally:
        count = runs()
        for pid in pids:
            used = cpu_seconds(pid) - before[pid]
            print(
                f"  CPU {command_of(pid):6} (pid {pid}): {used:.2f} s, "
                f"{used * 1e6 / count:.0f} us per run"
            )
        for spy, _ in spies:
            spy.send_signal(2)
        for spy, out in spies:
            await spy.wait()
            print(top_frames(out))


IDLE_FRAMES = (
    "thread.py:81)",
    "threading.py:327)",
    "threading.py:331)",
    "selectors.py:468)",
    "psycopg/connection.py:495)",
)
"""Leaf frames where a thread waits (a pool's queue, a lock, epoll, PostgreSQL's answer)."""


def top_frames(path: str, count: int = 15) -> str:
    """The frames that held the CPU longest, by own time and by inclusive time, from py-spy."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with Path(path).open(encoding="utf-8") as lines:
        for line in lines:
            stack, _, samples = line.rstrip().rpartition(" ")
            frames = stack.split(";")
            if frames[-1].endswith(IDLE_FRAMES):
                continue
            weight = int(samples)
            total += weight
            own[frames[-1]] += weight
            for frame in set(frames):
                inclusive[frame] += weight
    rows = [f"profile {path} ({total} samples, idle waits left out)", "  own time:"]
    rows += [f"    {n * 100 / total:5.1f}%  {frame}" for frame, n in own.most_common(count)]
    rows.append("  inclusive:")
    rows += [f"    {n * 100 / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(count)]
    return "\n".join(rows)


def exactly_once(arrived: list[tuple[str, float]], expected: int) -> str:
    """Say whether each callout delivery arrived once (by Idempotency-Key)."""
    counts = Counter(key for key, _ in arrived if not key.startswith("raw-"))
    twice = sum(1 for seen in counts.values() if seen > 1)
    if len(counts) == expected and twice == 0:
        return f"exactly once ({expected} keys, no duplicates)"
    return f"NOT exactly once: {len(counts)} keys of {expected}, {twice} sent more than once"


@asynccontextmanager
async def deployment(
    args: argparse.Namespace, server: Server, workers: int
) -> AsyncIterator[tuple[Callout, aiohttp.ClientSession]]:
    """A fresh database, callout running on it with the workflow published, and a client."""
    async with (
        fresh_store(args.database) as (url, _),
        running_callout(
            url,
            server,
            mode=args.mode,
            workers=workers,
            worker_concurrency=args.worker_concurrency,
        ) as callout,
        aiohttp.ClientSession(
            callout.base,
            headers={"Authorization": f"Bearer {callout.key}"},
            connector=aiohttp.TCPConnector(limit=args.concurrency),
        ) as session,
    ):
        await publish_workflow(session, server)
        if args.host_limit is not None:
            await limit_host(session, server, args.host_limit)
        yield callout, session


async def limit_host(session: aiohttp.ClientSession, server: Server, in_flight: int) -> None:
    """Limit the receiver's host (docs/delivery-control.md): every attempt is then admitted
    by the database and releases its slot in its result, the dearest path of delivery control.
    """
    host = urlsplit(server.url).hostname
    limit = {"max_in_flight": in_flight, "rate_per_second": 10000, "burst": 10000}
    async with session.put(f"/v1/host-limits/{host}", json=limit) as answered:
        assert answered.status == 200, await answered.text()


async def throughput(args: argparse.Namespace, workers: int) -> float:
    """Raw, callout, raw: deliveries/s and the ratio, with trigger-call latency."""
    with https_server(args.delay) as server:
        async with deployment(args, server, workers) as (callout, session):
            await send_events(session, 100, args.concurrency, "warm")  # compile, connect
            await delivered(server, 0, 100, 60)
            before = await raw(server, args.raw, args.concurrency)
            async with measured(callout.processes, args.profile, lambda: args.events):
                began = time.time()
                latencies = await send_events(session, args.events, args.concurrency, "bench")
                accepted = time.time() - began
                last = await delivered(server, 100, args.events, 600)
            after = await raw(server, args.raw, args.concurrency)
            arrived = await receiver_arrivals(server)
    rate: float = args.events / (last - began)
    baseline = statistics.mean([before, after])
    where = f"{args.mode} {args.database}" + (
        f", {workers} worker(s)" if args.mode == "api" else ""
    )
    if args.host_limit is not None:
        where += f", host limited to {args.host_limit} in flight"
    print(
        f"{where}: {args.events} events at concurrency {args.concurrency}, "
        f"server delay {args.delay * 1000:.0f} ms, worker concurrency {args.worker_concurrency}"
    )
    print(f"  raw before:  {before:8.0f} req/s")
    print(f"  callout:     {rate:8.0f} deliveries/s  ratio to raw {rate / baseline:.3f}")
    print(f"  raw after:   {after:8.0f} req/s")
    print(
        f"  trigger calls: {args.events / accepted:.0f}/s accepted, "
        f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
    )
    print(f"  delivery: {exactly_once(arrived, args.events + 100)}")
    return rate


async def idle_latency(args: argparse.Namespace) -> None:
    """One event at a time on an idle system: trigger sent -> request arrived."""
    with https_server(args.delay) as server:
        async with deployment(args, server, args.workers[0]) as (_, session):
            await send_events(session, 20, 1, "warm")
            await delivered(server, 0, 20, 60)
            sent: dict[str, float] = {}
            for number in range(args.idle):
                await asyncio.sleep(0.12)  # idle: the worker has gone back to waiting
                payload_id = f"idle-{number}"
                sent[payload_id] = time.time()
                async with session.post(
                    "/v1/events",
                    json={"name": EVENT, "payload": {"id": payload_id}},
                ) as response:
                    assert response.status == 202
            await delivered(server, 20, args.idle, 60)
            arrived = await receiver_arrivals(server)
    # The receiver keys arrivals by Idempotency-Key (the step run id): match them to
    # events in order of arrival, one event in flight at a time.
    callout_arrivals = sorted(at for key, at in arrived if not key.startswith("raw-"))[20:]
    waits = [at - begun for begun, at in zip(sorted(sent.values()), callout_arrivals, strict=True)]
    print(f"{args.mode} {args.database}: idle trigger -> request arrival, {args.idle} events")
    print(
        f"  p50 {percentile(waits, 0.5) * 1000:.1f} ms, p99 {percentile(waits, 0.99) * 1000:.1f} ms,"
        f" max {max(waits) * 1000:.1f} ms"
    )


def main() -> None:
    """Print deliveries/s against raw, or idle latency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["serve", "api"], default="serve")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="api mode")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--raw", type=int, default=3000, help="raw requests per baseline")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--worker-concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.0, help="receiver answers after (s)")
    parser.add_argument("--idle", type=int, default=0, help="measure idle latency instead")
    parser.add_argument(
        "--host-limit",
        type=int,
        metavar="N",
        help="limit the receiver's host to N in flight (and a rate it never reaches)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record each callout process (py-spy, while it holds the interpreter)",
    )
    args = parser.parse_args()
    if args.idle:
        asyncio.run(idle_latency(args))
    else:
        counts = args.workers if args.mode == "api" else [1]
        rates = [asyncio.run(throughput(args, workers)) for workers in counts]
        for workers, rate in zip(counts[1:], rates[1:], strict=True):
            print(f"{workers} workers against {counts[0]}: {rate / rates[0]:.2f}x deliveries/s")
    print("reproduce: .venv/bin/python benchmarks/e2e.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
