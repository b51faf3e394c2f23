"""With its database down the API answers 503 `store_unavailable` with `Retry-After`, then recovers.

The database is a private PostgreSQL cluster of this test (`support.private_postgres`):
it is stopped and started again, which the machine's shared server never is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from callout.api.errors import STORE_RETRY_AFTER
from callout.http import AiohttpTransport
from callout.store.database import database_url
from callout.store.sql_store import open_store
from support.api_clients import Service, api_service, document, error_of
from support.private_postgres import PrivatePostgres


@pytest.fixture
async def service(
    private_pg: PrivatePostgres, transport: AiohttpTransport
) -> AsyncIterator[Service]:
    store = await open_store(database_url(private_pg.url))
    try:
        async with api_service(store, transport) as made:
            yield made
    finally:
        await store.close()


async def health_becomes(client: httpx.AsyncClient, status: int) -> httpx.Response:
    """Ask /healthz until it answers `status` (it reuses an answer for up to a second)."""
    deadline = time.monotonic() + 5.0
    while (response := await client.get("/healthz")).status_code != status:
        assert time.monotonic() < deadline, response.text
        await asyncio.sleep(0.1)
    return response


async def test_the_api_answers_503_store_unavailable_while_the_database_is_down(
    service: Service, private_pg: PrivatePostgres
) -> None:
    acme = await service.org()
    anonymous = service.client()
    await acme.ok("GET", "/v1/workflows")
    healthy = await anonymous.get("/healthz")
    assert (healthy.status_code, healthy.json()) == (200, {"status": "ok", "database": "ok"})

    await private_pg.stop()
    for method, path, body in (
        ("GET", "/v1/workflows", None),
        ("POST", "/v1/workflows", {"document": document("https://api.example.test/users")}),
        # The trigger routes, answered by their shortcuts ahead of routing (`ShortcutsFirst`).
        ("POST", "/v1/events", {"name": "user.created", "payload": {"id": 1}}),
        ("POST", "/v1/workflows/wfl_0000000000ZZZZZZZZZZZZZZZZ/trigger", {"payload": 1}),
    ):
        response = await acme.client.request(method, path, json=body)
        error = error_of(response, 503, "store_unavailable")
        assert response.headers["Retry-After"] == str(STORE_RETRY_AFTER)
        assert "127.0.0.1" not in error["message"]  # the driver's words stay in the log
    degraded = await health_becomes(anonymous, 503)
    assert degraded.json() == {"status": "degraded", "database": "unavailable"}

    await private_pg.start()
    created = await acme.ok(
        "POST",
        "/v1/workflows",
        201,
        json={"document": document("https://api.example.test/users")},
    )
    assert created["workflow"]["id"]
    assert len((await acme.ok("GET", "/v1/workflows"))["data"]) == 1
    recovered = await health_becomes(anonymous, 200)
    assert recovered.json() == {"status": "ok", "database": "ok"}


async def test_the_openapi_description_declares_503_with_retry_after(
    sqlite_service: Service,
) -> None:
    paths = (await sqlite_service.client().get("/openapi.json")).json()["paths"]
    unavailable = paths["/v1/workflows"]["get"]["responses"]["503"]
    assert "Retry-After" in unavailable["headers"]
    health = paths["/healthz"]["get"]["responses"]
    assert set(health) >= {"200", "503"}
