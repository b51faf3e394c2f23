"""The API in-process for tests: a real store, a real transport, an httpx client per org."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from callout.api import ApiContext, create_app
from callout.engine.executor import StepExecutor
from callout.engine.worker import Worker
from callout.http import Transport
from callout.model.clock import Clock, SystemClock
from callout.model.plans import Plan
from callout.store.account_records import StoredOrgSecrets
from callout.store.encryption import SecretCipher
from callout.store.sql_store import SqlStore

TEST_KEY = SecretCipher(bytes(range(32)))
"""The secret key API tests encrypt with (a fixed key: tests are repeatable)."""


@dataclass
class Org:
    """An organization made for a test, with a client that sends its API key."""

    id: str
    key: str
    client: httpx.AsyncClient

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Send a request; assert the status; return the JSON body (None for 204)."""
        response = await self.client.request(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None


@dataclass
class Service:
    """The API over a real store, as `callout serve` builds it (without the network)."""

    store: SqlStore
    context: ApiContext
    transport: Transport
    app: FastAPI
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        """An httpx client calling the app in-process (with `key` as its bearer token)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        made = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://callout.test",
            headers=headers,
        )
        self.clients.append(made)
        return made

    async def org(self, name: str = "Acme", plan: Plan = Plan.GROWTH) -> Org:
        """Create an organization with its first key, and a client that uses it."""
        org, key = await self.store.accounts.create_organization(
            name=name, plan=plan, now=SystemClock().now()
        )
        return Org(id=org.id, key=key.key, client=self.client(key.key))

    def worker(self, *, clock: Any = None) -> Worker:
        """A worker over the same store and transport, reading the orgs' secrets."""
        executor = StepExecutor(
            store=self.store,
            transport=self.transport,
            org_secrets=StoredOrgSecrets(self.store, TEST_KEY),
            allow_http=self.context.allow_http,
            **({"clock": clock} if clock is not None else {}),
        )
        return Worker(store=self.store, executor=executor, poll_interval=0.02)


@asynccontextmanager
async def api_service(store: SqlStore, transport: Transport) -> AsyncIterator[Service]:
    """Build the API over `store`; close every client made through `org()` afterwards."""
    context = ApiContext(store=store, cipher=TEST_KEY, transport=transport)
    service = Service(store=store, context=context, transport=transport, app=create_app(context))
    try:
        yield service
    finally:
        for client in service.clients:
            await client.aclose()


def document(url: str, **step: Any) -> dict[str, Any]:
    """A one-step workflow document calling `url`, with `step` keys added or replaced."""
    return {
        "name": "Create the user",
        "trigger": {
            "event": "inquiry.completed",
            "schema": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}},
            },
        },
        "steps": [
            {
                "id": "create_user",
                "action": "make_https_request",
                "url": url,
                "body": {"inquiry": "{{ trigger.id }}"},
            }
            | step
        ],
    }


FINISHED = frozenset({"completed", "failed", "cancelled"})
"""Run statuses that do not change any more."""


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the status and the one error shape with `code`; return the error."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, error
    return error


@asynccontextmanager
async def working(service: Service, clock: Clock | None = None) -> AsyncIterator[None]:
    """Run a worker over the service's store (on `clock`, if given) for the block."""
    worker = service.worker(clock=clock)
    if clock is not None:
        worker.clock = clock
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def run_until(
    org: Org, run_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """Poll the run every 20 ms until `done(run)` holds; fail when it never does."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = await org.ok("GET", f"/v1/runs/{run_id}")
        if done(run):
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.02)


async def finished_run(org: Org, run_id: str, timeout: float = 5.0) -> dict[str, Any]:
    """Poll the run until it has finished; return it."""
    return await run_until(org, run_id, lambda run: run["status"] in FINISHED, timeout)
