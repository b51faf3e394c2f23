"""What a partner's host sees of delivery control: requests at once, their times, their answers.

`HostTraffic` is a responder for the loopback HTTPS test server: it holds each
request a little while, counts the requests in progress (the most at once is
what an in-flight limit bounds), notes when each arrived and what it answered,
and answers with whatever status the test sets (a 503 outage, then recovery).
`OrgRuns` records an organization and its runs straight in the store the
`callout worker` processes share, the way the API would.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from callout.engine.starting import new_run
from callout.model.plans import Plan
from callout.steps.validation import validate_workflow
from callout.store.protocol import StoredRun
from callout.store.sql_store import SqlStore
from support.processes import start_callout, stop_gently
from support.running import workflow_of


@dataclass(frozen=True, slots=True)
class Answered:
    """One request as the host answered it."""

    key: str
    """Its `Idempotency-Key` (one per step run)."""
    status: int
    at: float
    """When it arrived (monotonic seconds)."""


@dataclass
class HostTraffic:
    """A responder that holds each request `hold` seconds and answers `status`."""

    hold: float = 0.05
    status: int = 200
    in_progress: int = 0
    most_at_once: int = 0
    answered: list[Answered] = field(default_factory=list)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        status = self.status
        self.answered.append(
            Answered(request.headers.get("Idempotency-Key", ""), status, time.monotonic())
        )
        self.in_progress += 1
        self.most_at_once = max(self.most_at_once, self.in_progress)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.in_progress -= 1
        return web.Response(status=status, text="{}", content_type="application/json")

    def keys(self, status: int | None = None) -> Counter[str]:
        """How many requests each idempotency key sent (those answered `status`, if given)."""
        return Counter(one.key for one in self.answered if status in (None, one.status))


@dataclass
class OrgRuns:
    """An organization of the shared store, and the runs recorded for it."""

    store: SqlStore
    org_id: str
    run_ids: list[str] = field(default_factory=list)

    @classmethod
    async def create(cls, store: SqlStore) -> OrgRuns:
        """Record an organization (its first key is not used: the runs are recorded here)."""
        org, _key = await store.accounts.create_organization(
            name="Acme", plan=Plan.GROWTH, now=time.time()
        )
        return cls(store, org.id)

    async def start(self, count: int, url: str, **step: Any) -> None:
        """Record `count` runs of one Make HTTPS Request step to `url`, due now."""
        document = workflow_of(
            {"id": "call", "action": "make_https_request", "url": url, "body": {}, **step}
        )
        workflow = validate_workflow(document)
        for _ in range(count):
            run = new_run(workflow, {}, now=time.time(), org_id=self.org_id)
            await self.store.create_run(run)
            self.run_ids.append(run.id)

    async def runs(self) -> list[StoredRun]:
        """Every run, as recorded now."""
        return [await self.store.get_run(run_id) for run_id in self.run_ids]


async def start_workers(
    count: int, env: dict[str, str], logs: Path, *, concurrency: int = 16
) -> list[asyncio.subprocess.Process]:
    """Start `count` `callout worker` processes (logs in `logs`/w<i>.log)."""
    return [
        await start_callout(
            "worker", "--concurrency", str(concurrency), env=env, log=logs / f"w{number}.log"
        )
        for number in range(count)
    ]


async def stop_workers(workers: list[asyncio.subprocess.Process]) -> list[int]:
    """Stop every worker gently; return their exit codes."""
    return [await stop_gently(worker) for worker in workers]
