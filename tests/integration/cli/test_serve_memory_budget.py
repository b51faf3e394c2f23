"""Hostile answers do not bloat or crash `callout serve` (docs/attempts.md, "What a step keeps").

A real `callout serve` on SQLite calls a loopback HTTPS server that answers, for each
of 10 steps that each send the previous step's body on, 9 MiB of `[{},{},...]` (under
the 10 MiB cap); then JSON nested 1,000 and 300 deep; then 10 steps of the worst body
the output budget keeps whole (just under 50,000 values, each step sending the whole
previous body on). Each process's resident memory (serve's, and its worker's) may
grow at most 64 MiB over idle (peak, `VmHWM`, reset after a warm-up run); every run
reads back small and never answers 5xx; the deep answers end as clear step errors
and the worker keeps working; `/healthz` answers within 100 ms throughout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from support.https_servers import HttpsServer
from support.loop_lag import loop_lag_probe
from support.processes import children_of, stop_gently
from support.served_processes import ServedCallout, create_org, serving_callout

MIB = 1024 * 1024
RSS_GROWTH_LIMIT = 64 * MIB
RUN_TIMEOUT = 60.0
STEPS = 10

# 9 MiB of `[{},{},...]`: 3.1 million tiny objects, 220 MiB had it been parsed.
TINY_OBJECTS = b"[" + b",".join([b"{}"] * (9 * MIB // 3)) + b"]"
# Just within the output budget: 49,001 values of the costliest kind for Python (an
# object holding an object), about 6 MiB as Python objects; 216 KiB as text, so that
# the next step may send it on whole.
WORST_KEPT = b"[" + b",".join([b'{"a":{}}'] * 24_500) + b"]"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def memory(pid: int) -> dict[str, int]:
    """Return `VmRSS` and `VmHWM` (bytes) of process `pid`."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0]) * 1024
    return found


def reset_peak(pid: int) -> None:
    """Make `VmHWM` start again from the current RSS (Linux, `clear_refs` 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def answering(body: bytes) -> Any:
    async def respond(_: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    return respond


def chain(url: str, steps: int) -> dict[str, Any]:
    """A workflow of `steps` steps calling `url`, each sending the previous body on."""
    listed: list[dict[str, Any]] = [
        {"id": "s1", "action": "make_https_request", "url": url, "method": "GET"}
    ]
    listed += [
        {
            "id": f"s{n}",
            "action": "make_https_request",
            "url": url,
            "body": {"previous": f"{{{{ steps.s{n - 1}.body }}}}"},
        }
        for n in range(2, steps + 1)
    ]
    return {"name": f"chain to {url}", "trigger": {}, "steps": listed}


@pytest.fixture
async def serve(workdir: Path, ca_bundle: Path) -> AsyncIterator[ServedCallout]:
    """`callout serve` allowed to reach the loopback test server; it must stop cleanly."""
    log = workdir / "serve.log"
    env = {"CALLOUT_CA_BUNDLE": str(ca_bundle), "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32"}
    async with serving_callout("serve", env=env, log=log) as served:
        yield served
        assert await stop_gently(served.process) == 0
        printed = log.read_text()
        assert "Traceback" not in printed, printed[-3000:]


async def start(client: httpx.AsyncClient, document: dict[str, Any]) -> str:
    created = await client.post("/v1/workflows", json={"document": document})
    assert created.status_code == 201, created.text
    assert created.json()["draft"]["problems"] == []
    workflow_id = created.json()["workflow"]["id"]
    published = await client.post(f"/v1/workflows/{workflow_id}/publish")
    assert published.status_code == 200, published.text
    started = await client.post(f"/v1/workflows/{workflow_id}/trigger", json={"payload": {}})
    assert started.status_code == 202, started.text
    return str(started.json()["run_id"])


async def finished(client: httpx.AsyncClient, run_id: str, sizes: list[int]) -> dict[str, Any]:
    """Poll the run (as the run page does) until it ends; record each answer's size."""
    for _ in range(int(RUN_TIMEOUT / 0.1)):
        response = await client.get(f"/v1/runs/{run_id}")
        assert response.status_code == 200, response.text[:2000]
        sizes.append(len(response.content))
        run: dict[str, Any] = response.json()
        if run["status"] in {"completed", "failed", "cancelled"}:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} never finished")


@pytest.mark.looplag  # wall-clock latency: run after the rest (`make test`)
async def test_hostile_answers_stay_within_the_memory_budget(
    serve: ServedCallout, https_server: HttpsServer
) -> None:
    process = serve.process
    key = await create_org(env={})
    https_server.script("/small", answering(b'{"id": "u_1"}'))
    https_server.script("/tiny-objects", answering(TINY_OBJECTS))
    https_server.script("/deep-1000", answering(nested(1000)))
    https_server.script("/deep-300", answering(nested(300)))
    https_server.script("/worst-kept", answering(WORST_KEPT))
    sizes: list[int] = []

    async with serve.client(key, timeout=30) as client:
        # A warm-up run through every part (imports, pools, caches), then idle.
        warm = await finished(client, await start(client, chain(https_server.url("/small"), 2)), [])
        assert warm["status"] == "completed", warm
        await asyncio.sleep(0.5)
        # serve and its worker (a child process: it holds the answers): each is held to it.
        pids = [process.pid, *children_of(process.pid)]
        assert len(pids) == 2, pids
        for pid in pids:
            reset_peak(pid)
        idle = {pid: memory(pid)["VmRSS"] for pid in pids}

        async with loop_lag_probe(serve.base) as probe:
            tiny = await finished(
                client, await start(client, chain(https_server.url("/tiny-objects"), STEPS)), sizes
            )
            deep = {
                depth: await finished(
                    client,
                    await start(client, chain(https_server.url(f"/deep-{depth}"), 1)),
                    sizes,
                )
                for depth in (1000, 300)
            }
            worst = await finished(
                client, await start(client, chain(https_server.url("/worst-kept"), STEPS)), sizes
            )
            after = await finished(
                client, await start(client, chain(https_server.url("/small"), 2)), sizes
            )
        used = {pid: memory(pid) for pid in pids}

    for pid in pids:
        growth = used[pid]["VmHWM"] - idle[pid]
        assert growth <= RSS_GROWTH_LIMIT, (
            f"peak RSS of {pid} grew {growth / MIB:.1f} MiB over idle {idle[pid] / MIB:.1f} MiB "
            f"(now {used[pid]['VmRSS'] / MIB:.1f} MiB)"
        )
    probe.assert_worst_below(0.1)
    # Read as the run page reads it, each run view stayed small (91 MiB before).
    assert max(sizes) < 512 * 1024, max(sizes)

    assert tiny["status"] == "completed", tiny
    assert len(https_server.hits_on("/tiny-objects")) == STEPS
    for step in tiny["steps"]:
        assert step["output"]["body_truncated"] is True
        assert step["output"]["body"].startswith("[{},{}")
    # Each step sent on what the one before kept: the first 64 KiB of its text.
    sent = json.loads(https_server.hits_on("/tiny-objects")[-1].body)
    assert sent["previous"] == TINY_OBJECTS[: 64 * 1024].decode()

    for depth, run in deep.items():
        assert run["status"] == "failed", run
        [step] = run["steps"]
        assert step["error"]["type"] == "response_too_deep", step
        assert "64 levels" in step["error"]["message"]
        [attempt] = step["attempts"]
        assert attempt["response"]["body"].startswith("[[[["), depth

    assert worst["status"] == "completed", worst
    hits = https_server.hits_on("/worst-kept")
    assert len(hits) == STEPS
    assert json.loads(hits[-1].body) == {"previous": json.loads(WORST_KEPT)}
    assert after["status"] == "completed", after  # the worker kept working
