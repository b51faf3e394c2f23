"""Dashboard sessions: an API key pasted once, an HttpOnly cookie, CSRF and Origin checks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from callout.api.session import SESSION_COOKIE, SESSION_SECONDS
from callout.http import AiohttpTransport
from callout.model.clock import ManualClock
from callout.store import SqlStore
from callout.web import install_dashboard
from support.api_clients import Org, Service, api_service

BASE = "http://callout.test"


@pytest.fixture
async def dashboard(sqlite_store: SqlStore, transport: AiohttpTransport) -> AsyncIterator[Service]:
    async with api_service(sqlite_store, transport) as service:
        install_dashboard(service.app)
        yield service


async def signed_in(service: Service, org: Org) -> tuple[httpx.AsyncClient, str]:
    """A browser-like client signed in with the org's key, and the page's CSRF token."""
    client = service.client()
    response = await client.post("/sign-in", data={"api_key": org.key}, headers={"Origin": BASE})
    assert response.status_code == 303
    assert response.headers["location"] == "/workflows"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert org.key not in cookie  # the cookie holds the key encrypted
    page = await client.get("/workflows")
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page.text)
    assert match is not None
    return client, match.group(1)


async def test_signing_in_with_a_key_opens_the_dashboard_and_the_api(dashboard: Service) -> None:
    acme = await dashboard.org("Acme")
    client, _ = await signed_in(dashboard, acme)
    page = await client.get("/workflows")
    assert "Acme" in page.text
    assert acme.key not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    listed = await client.get("/v1/workflows")
    assert listed.status_code == 200
    assert listed.json() == {"data": [], "next_cursor": None}


async def test_a_bad_key_does_not_sign_in(dashboard: Service) -> None:
    client = dashboard.client()
    response = await client.post(
        "/sign-in", data={"api_key": "callout_not-a-key"}, headers={"Origin": BASE}
    )
    assert response.status_code == 401
    assert "unknown or revoked" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert (await client.get("/workflows")).headers["location"] == "/sign-in"


async def test_a_change_with_a_session_needs_the_csrf_token_and_this_origin(
    dashboard: Service,
) -> None:
    acme = await dashboard.org("Acme")
    client, token = await signed_in(dashboard, acme)
    secret = {"name": "tok", "value": "v-1"}

    missing = await client.post("/v1/secrets", json=secret, headers={"Origin": BASE})
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(
        "/v1/secrets", json=secret, headers={"Origin": BASE, "X-CSRF-Token": "0" * 64}
    )
    assert wrong.status_code == 403
    elsewhere = await client.post(
        "/v1/secrets",
        json=secret,
        headers={"Origin": "https://evil.example", "X-CSRF-Token": token},
    )
    assert elsewhere.status_code == 403
    no_origin = await client.post("/v1/secrets", json=secret, headers={"X-CSRF-Token": token})
    assert no_origin.status_code == 403
    assert (await acme.ok("GET", "/v1/secrets")) == []  # nothing was stored

    made = await client.post(
        "/v1/secrets", json=secret, headers={"Origin": BASE, "X-CSRF-Token": token}
    )
    assert made.status_code == 201
    assert [s["name"] for s in await acme.ok("GET", "/v1/secrets")] == ["tok"]


async def test_a_bearer_key_needs_no_csrf_token(dashboard: Service) -> None:
    acme = await dashboard.org("Acme")
    made = await acme.client.post("/v1/secrets", json={"name": "tok", "value": "v-1"})
    assert made.status_code == 201


async def test_a_session_expires_after_twelve_hours(dashboard: Service) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    dashboard.context.clock = clock
    acme = await dashboard.org("Acme")
    client, _ = await signed_in(dashboard, acme)
    clock.advance(SESSION_SECONDS - 60)
    assert (await client.get("/v1/workflows")).status_code == 200
    clock.advance(120)
    expired = await client.get("/v1/workflows")
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "the session expired; sign in again"
    assert (await client.get("/workflows")).headers["location"] == "/sign-in"


async def test_a_revoked_key_ends_its_sessions(dashboard: Service) -> None:
    acme = await dashboard.org("Acme")
    client, _ = await signed_in(dashboard, acme)
    [key] = await acme.ok("GET", "/v1/api-keys")
    await acme.ok("DELETE", f"/v1/api-keys/{key['id']}")
    assert (await client.get("/v1/workflows")).status_code == 401
    assert (await client.get("/workflows")).headers["location"] == "/sign-in"


async def test_signing_out_needs_the_token_and_clears_the_cookie(dashboard: Service) -> None:
    acme = await dashboard.org("Acme")
    client, token = await signed_in(dashboard, acme)
    refused = await client.post("/sign-out", data={"csrf": "nope"}, headers={"Origin": BASE})
    assert refused.headers["location"] == "/workflows"
    assert (await client.get("/v1/workflows")).status_code == 200  # still signed in
    out = await client.post("/sign-out", data={"csrf": token}, headers={"Origin": BASE})
    assert out.headers["location"] == "/sign-in"
    assert (await client.get("/workflows")).headers["location"] == "/sign-in"


async def test_sign_in_from_another_site_is_refused(dashboard: Service) -> None:
    acme = await dashboard.org("Acme")
    client = dashboard.client()
    response = await client.post(
        "/sign-in", data={"api_key": acme.key}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
