"""Helpers of the editor's browser tests: workflows and secrets made through the API."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from browser.conftest import Deployment, sign_in


def make_workflow(
    deployment: Deployment, key: str, document: dict[str, Any], *, publish: bool = False
) -> str:
    """Create a workflow (and publish it when asked); return its id."""
    with deployment.api(key) as api:
        created = api.post("/v1/workflows", json={"document": document})
        assert created.status_code == 201, created.text
        workflow_id = str(created.json()["workflow"]["id"])
        if publish:
            published = api.post(f"/v1/workflows/{workflow_id}/publish")
            assert published.status_code == 200, published.text
    return workflow_id


def add_secret(deployment: Deployment, key: str, name: str, value: str) -> None:
    with deployment.api(key) as api:
        stored = api.post("/v1/secrets", json={"name": name, "value": value})
        assert stored.status_code == 201, stored.text


def draft_document(deployment: Deployment, key: str, workflow_id: str) -> dict[str, Any]:
    """The stored draft's document, as the API returns it."""
    with deployment.api(key) as api:
        draft = api.get(f"/v1/workflows/{workflow_id}/versions/draft")
        assert draft.status_code == 200, draft.text
        return dict(draft.json()["document"])


def open_editor(page: Page, deployment: Deployment, key: str, workflow_id: str) -> None:
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/workflows/{workflow_id}")
    expect(page.get_by_role("region", name="Trigger")).to_be_visible()


def open_step(page: Page, name: str) -> Locator:
    """Open a step's panel by its node's name ("Step 1: call"); return the panel."""
    page.get_by_role("button", name=name).click()
    panel = page.get_by_role("complementary", name="Make HTTPS Request")
    expect(panel).to_be_visible()
    return panel


def save(page: Page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(re.compile(r"Draft v\d+ saved"))


def step(url: str, **fields: Any) -> dict[str, Any]:
    """A Make HTTPS Request step called `call`."""
    return {"id": "call", "action": "make_https_request", "url": url, **fields}
