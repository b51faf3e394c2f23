"""Signing out in Chromium ends the session on the server: a copy of its cookie stops working."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from browser.conftest import Deployment, sign_in

SESSION_COOKIE = "callout_session"


def session_cookie(page: Page) -> str:
    [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    return cookie["value"]


def copied(deployment: Deployment, cookie: str) -> httpx.Client:
    """Another machine sending a copy of the browser's cookie."""
    return httpx.Client(
        base_url=deployment.base_url, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
    )


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Sign-out Co", "growth")
    sign_in(page, deployment, key)
    cookie = session_cookie(page)
    assert key not in cookie
    with copied(deployment, cookie) as thief:
        assert thief.get("/v1/workflows").status_code == 200
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/sign-in")
        answer = thief.get("/v1/workflows")
        assert answer.status_code == 401
        assert "sign in again" in answer.json()["error"]["message"]
        assert thief.get("/workflows").headers["location"] == "/sign-in"
    page.goto(f"{deployment.base_url}/workflows")
    page.wait_for_url("**/sign-in")


def test_revoking_the_key_with_the_cli_signs_the_browser_out(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Revoked Co", "growth")
    sign_in(page, deployment, key)
    with deployment.api(key) as api:
        [info] = api.get("/v1/api-keys").json()
    deployment.callout("keys", "revoke", info["id"])
    page.reload()
    page.wait_for_url("**/sign-in")
    with copied(deployment, session_cookie(page)) as same_browser:
        assert same_browser.get("/v1/workflows").status_code == 401
