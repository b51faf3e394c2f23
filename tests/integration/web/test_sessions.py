"""Dashboard sessions: a key pasted once opens a server-side session; its cookie names it.

The app is served by uvicorn on a loopback port and browsers are httpx clients
with their own cookie jars, on SQLite and on PostgreSQL (`store` runs each test
on both): a copied cookie is just a `Cookie` header sent by another client.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from callout.api.session import REFUSALS, SESSION_COOKIE, SESSION_SECONDS
from callout.cli.main import cli
from callout.http import AiohttpTransport
from callout.model.clock import ManualClock
from callout.store.account_keys import hash_session_id
from callout.store.account_records import SessionState
from callout.store.encryption import SecretCipher
from callout.store.sql_store import SqlStore
from callout.store.tables import api_keys, dashboard_sessions
from callout.web import install_dashboard
from support.api_clients import TEST_KEY, Org, Service, api_service
from support.in_process_servers import serving


@dataclass
class Dashboard:
    """The API and the dashboard behind a real socket, over a real store."""

    service: Service
    base: str
    db_url: str

    def browser(self, cookie: str | None = None) -> httpx.AsyncClient:
        """A browser: a client with its own cookie jar, or one that sends a copied cookie."""
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
        client = httpx.AsyncClient(base_url=self.base, headers=headers)
        self.service.clients.append(client)
        return client


@dataclass
class Browser:
    """A browser signed in: its client, the page's CSRF token, and its cookie's value."""

    client: httpx.AsyncClient
    csrf: str
    cookie: str


@asynccontextmanager
async def served(
    store: SqlStore, db_url: str, transport: AiohttpTransport
) -> AsyncIterator[Dashboard]:
    """Serve the API and the dashboard over `store` on a loopback port."""
    async with api_service(store, transport) as service:
        install_dashboard(service.app)
        async with serving(service.app) as base:
            yield Dashboard(service, base, db_url)


@pytest.fixture
async def dashboard(
    store: SqlStore, db_url: str, transport: AiohttpTransport
) -> AsyncIterator[Dashboard]:
    """On SQLite and on PostgreSQL: for what the store decides."""
    async with served(store, db_url, transport) as running:
        yield running


@pytest.fixture
async def on_sqlite(
    sqlite_store: SqlStore, tmp_path: Path, transport: AiohttpTransport
) -> AsyncIterator[Dashboard]:
    """On SQLite only: for what is decided before the store is asked (cookie, CSRF, Origin)."""
    async with served(sqlite_store, str(tmp_path / "callout.db"), transport) as running:
        yield running


async def signed_in(dashboard: Dashboard, org: Org) -> Browser:
    """A browser signed in with the org's key, with the page's CSRF token."""
    client = dashboard.browser()
    response = await client.post(
        "/sign-in", data={"api_key": org.key}, headers={"Origin": dashboard.base}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/workflows"
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=strict" in set_cookie or "SameSite=Strict" in set_cookie
    page = await client.get("/workflows")
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page.text)
    assert match is not None
    return Browser(client, match.group(1), client.cookies[SESSION_COOKIE])


async def refused(client: httpx.AsyncClient, state: SessionState) -> None:
    """Assert that the API answers 401 with the message for `state` and pages ask to sign in."""
    answer = await client.get("/v1/workflows")
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == {
        "code": "unauthorized",
        "message": REFUSALS[state],
        "details": [],
    }
    for page in ("/workflows", "/runs", "/secrets", "/"):
        shown = await client.get(page)
        assert shown.status_code == 303, page
        assert shown.headers["location"] == "/sign-in", page


async def test_signing_in_with_a_key_opens_the_dashboard_and_the_api(
    dashboard: Dashboard,
) -> None:
    acme = await dashboard.service.org("Acme")
    browser = await signed_in(dashboard, acme)
    page = await browser.client.get("/workflows")
    assert "Acme" in page.text
    assert acme.key not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    listed = await browser.client.get("/v1/workflows")
    assert listed.status_code == 200
    assert listed.json() == {"data": [], "next_cursor": None}


async def test_a_bad_key_does_not_sign_in(on_sqlite: Dashboard) -> None:
    client = on_sqlite.browser()
    response = await client.post(
        "/sign-in", data={"api_key": "callout_not-a-key"}, headers={"Origin": on_sqlite.base}
    )
    assert response.status_code == 401
    assert "unknown or revoked" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert (await client.get("/workflows")).headers["location"] == "/sign-in"
    rows = await on_sqlite.service.store.read(session_rows)
    assert rows == []  # a refused sign-in opens nothing


async def test_a_change_with_a_session_needs_the_csrf_token_and_this_origin(
    on_sqlite: Dashboard,
) -> None:
    acme = await on_sqlite.service.org("Acme")
    browser = await signed_in(on_sqlite, acme)
    client, token, base = browser.client, browser.csrf, on_sqlite.base
    secret = {"name": "tok", "value": "v-1"}

    missing = await client.post("/v1/secrets", json=secret, headers={"Origin": base})
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(
        "/v1/secrets", json=secret, headers={"Origin": base, "X-CSRF-Token": "0" * 64}
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
    not_ascii = await client.post(
        "/v1/secrets",
        json=secret,
        headers=[(b"Origin", base.encode()), (b"X-CSRF-Token", b"\xe9" + token.encode()[1:])],
    )
    assert not_ascii.status_code == 403  # not a 500
    assert (await acme.ok("GET", "/v1/secrets")) == []  # nothing was stored

    made = await client.post(
        "/v1/secrets", json=secret, headers={"Origin": base, "X-CSRF-Token": token}
    )
    assert made.status_code == 201
    assert [s["name"] for s in await acme.ok("GET", "/v1/secrets")] == ["tok"]


async def test_a_bearer_key_needs_no_csrf_token(on_sqlite: Dashboard) -> None:
    acme = await on_sqlite.service.org("Acme")
    made = await acme.client.post("/v1/secrets", json={"name": "tok", "value": "v-1"})
    assert made.status_code == 201


async def test_a_session_expires_after_twelve_hours(dashboard: Dashboard) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    dashboard.service.context.clock = clock
    acme = await dashboard.service.org("Acme")
    browser = await signed_in(dashboard, acme)
    clock.advance(SESSION_SECONDS - 60)
    assert (await browser.client.get("/v1/workflows")).status_code == 200
    clock.advance(120)
    await refused(browser.client, SessionState.EXPIRED)
    assert REFUSALS[SessionState.EXPIRED] == "the session expired; sign in again"


async def test_after_sign_out_the_old_cookie_answers_401_on_the_api_and_on_pages(
    dashboard: Dashboard,
) -> None:
    acme = await dashboard.service.org("Acme")
    browser = await signed_in(dashboard, acme)
    copied = dashboard.browser(cookie=browser.cookie)  # e.g. taken off the machine earlier
    assert (await copied.get("/v1/workflows")).status_code == 200

    out = await browser.client.post(
        "/sign-out", data={"csrf": browser.csrf}, headers={"Origin": dashboard.base}
    )
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in"
    assert SESSION_COOKIE not in browser.client.cookies  # the browser forgot it

    await refused(copied, SessionState.ENDED)
    change = await copied.post(
        "/v1/secrets",
        json={"name": "tok", "value": "v-1"},
        headers={"Origin": dashboard.base, "X-CSRF-Token": browser.csrf},
    )
    assert change.status_code == 401  # a valid token does not revive an ended session
    assert (await acme.ok("GET", "/v1/secrets")) == []
    [row] = await dashboard.service.store.read(session_rows)
    assert row.ended_at is not None


async def test_signing_out_needs_the_token(on_sqlite: Dashboard) -> None:
    acme = await on_sqlite.service.org("Acme")
    browser = await signed_in(on_sqlite, acme)
    refused_out = await browser.client.post(
        "/sign-out", data={"csrf": "nope"}, headers={"Origin": on_sqlite.base}
    )
    assert refused_out.headers["location"] == "/workflows"
    other_site = await browser.client.post(
        "/sign-out", data={"csrf": browser.csrf}, headers={"Origin": "https://evil.example"}
    )
    assert other_site.headers["location"] == "/workflows"
    assert (await browser.client.get("/v1/workflows")).status_code == 200  # still signed in
    [row] = await on_sqlite.service.store.read(session_rows)
    assert row.ended_at is None


async def test_two_sessions_of_one_key_end_independently(dashboard: Dashboard) -> None:
    acme = await dashboard.service.org("Acme")
    laptop, phone = await signed_in(dashboard, acme), await signed_in(dashboard, acme)
    assert laptop.cookie != phone.cookie
    assert laptop.csrf != phone.csrf
    crossed = await phone.client.post(
        "/v1/secrets",
        json={"name": "tok", "value": "v-1"},
        headers={"Origin": dashboard.base, "X-CSRF-Token": laptop.csrf},
    )
    assert crossed.status_code == 403  # one session's token is no good for another

    await laptop.client.post(
        "/sign-out", data={"csrf": laptop.csrf}, headers={"Origin": dashboard.base}
    )
    await refused(dashboard.browser(cookie=laptop.cookie), SessionState.ENDED)
    assert (await phone.client.get("/v1/workflows")).status_code == 200
    assert (await phone.client.get("/workflows")).status_code == 200

    await phone.client.post(
        "/sign-out", data={"csrf": phone.csrf}, headers={"Origin": dashboard.base}
    )
    await refused(dashboard.browser(cookie=phone.cookie), SessionState.ENDED)
    assert (await acme.client.get("/v1/workflows")).status_code == 200  # the key still works


async def test_a_key_revoked_through_the_api_ends_its_sessions(dashboard: Dashboard) -> None:
    acme = await dashboard.service.org("Acme")
    first, second = await signed_in(dashboard, acme), await signed_in(dashboard, acme)
    other = await dashboard.service.org("Bravo")
    bystander = await signed_in(dashboard, other)
    [key] = await acme.ok("GET", "/v1/api-keys")
    await acme.ok("DELETE", f"/v1/api-keys/{key['id']}")
    for browser in (first, second):
        await refused(browser.client, SessionState.ENDED)
    assert (await bystander.client.get("/v1/workflows")).status_code == 200
    rows = {row.key_id: row.ended_at for row in await dashboard.service.store.read(session_rows)}
    assert rows[key["id"]] is not None


async def test_a_key_revoked_with_the_cli_ends_its_sessions(dashboard: Dashboard) -> None:
    acme = await dashboard.service.org("Acme")
    browser = await signed_in(dashboard, acme)
    [key] = await acme.ok("GET", "/v1/api-keys")
    # `callout keys revoke` opens its own store and runs its own event loop: give it a thread.
    done = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["keys", "revoke", key["id"]],
        env={"CALLOUT_DATABASE_URL": dashboard.db_url},
    )
    assert done.exit_code == 0, done.output
    await refused(browser.client, SessionState.ENDED)


async def test_a_session_of_a_revoked_key_is_refused_even_if_its_row_was_left_open(
    dashboard: Dashboard,
) -> None:
    acme = await dashboard.service.org("Acme")
    browser = await signed_in(dashboard, acme)
    [key] = await acme.ok("GET", "/v1/api-keys")
    # Revoked by a path that does not end sessions (an older callout, or SQL by hand).
    await dashboard.service.store.write(revoke_key_only, key_id=key["id"])
    [row] = await dashboard.service.store.read(session_rows)
    assert row.ended_at is None
    await refused(browser.client, SessionState.ENDED)


async def test_the_cookie_never_holds_the_api_key_in_any_form(dashboard: Dashboard) -> None:
    acme = await dashboard.service.org("Acme")
    client = dashboard.browser()
    response = await client.post(
        "/sign-in", data={"api_key": acme.key}, headers={"Origin": dashboard.base}
    )
    set_cookie = response.headers["set-cookie"]
    cookie = client.cookies[SESSION_COOKIE]
    raw = acme.key.encode()
    forms = {
        acme.key,
        acme.key.removeprefix("callout_"),
        urllib.parse.quote(acme.key, safe=""),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        hashlib.sha256(raw).hexdigest(),
    }
    for form in forms:
        assert form not in set_cookie
        assert form not in cookie
    # The cookie is the session's random id and its HMAC under the operator's key ...
    version, session_id, seal = cookie.split(".")
    assert version == "s1"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)
    assert re.fullmatch(r"[0-9a-f]{64}", seal)
    # ... and the database holds only that id's SHA-256.
    [row] = await dashboard.service.store.read(session_rows)
    assert row.id_hash == hash_session_id(session_id)
    assert all(session_id not in str(cell) for cell in row)


async def test_a_cookie_from_before_server_side_sessions_asks_to_sign_in_again(
    on_sqlite: Dashboard,
) -> None:
    acme = await on_sqlite.service.org("Acme")
    now = on_sqlite.service.context.clock.now()
    # What the cookie held before: the API key and its issue time, encrypted.
    old = TEST_KEY.encrypt(f"{int(now)}:{acme.key}", org_id="dashboard", name="session")
    await refused(on_sqlite.browser(cookie=old), SessionState.UNKNOWN)
    # Signing in again replaces it.
    browser = await signed_in(on_sqlite, acme)
    assert browser.cookie != old


async def test_a_forged_or_altered_cookie_is_refused(on_sqlite: Dashboard) -> None:
    acme = await on_sqlite.service.org("Acme")
    browser = await signed_in(on_sqlite, acme)
    version, session_id, seal = browser.cookie.split(".")
    other_seal = ("0" if seal[0] != "0" else "1") + seal[1:]
    other_id = session_id[:-1] + ("A" if session_id[-1] != "A" else "B")
    for forged in (
        f"{version}.{session_id}.{other_seal}",  # right id, wrong HMAC
        f"{version}.{other_id}.{seal}",  # another id, the first one's HMAC
        f"{version}.{session_id}",
        "s1..",
        "garbage",
    ):
        await refused(on_sqlite.browser(cookie=forged), SessionState.UNKNOWN)
    assert (await browser.client.get("/v1/workflows")).status_code == 200


async def test_a_new_secret_key_signs_every_browser_out(on_sqlite: Dashboard) -> None:
    acme = await on_sqlite.service.org("Acme")
    browser = await signed_in(on_sqlite, acme)
    on_sqlite.service.context.cipher = SecretCipher(bytes(32))  # the operator changed the key
    await refused(browser.client, SessionState.UNKNOWN)


async def test_sign_in_from_another_site_is_refused(on_sqlite: Dashboard) -> None:
    acme = await on_sqlite.service.org("Acme")
    client = on_sqlite.browser()
    response = await client.post(
        "/sign-in", data={"api_key": acme.key}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def session_rows(conn: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    """Every stored dashboard session."""
    return list(conn.execute(sa.select(dashboard_sessions)).all())


def revoke_key_only(conn: sa.Connection, *, key_id: str) -> None:
    """Mark a key revoked and nothing else."""
    conn.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=1.0))
