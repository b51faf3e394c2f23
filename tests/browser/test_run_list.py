"""The runs list: with no runs it says how to start one; new runs appear without a reload."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.conftest import Deployment, sign_in
from browser.published import publish, request_step, start_run


def test_the_empty_runs_page_says_how_to_start_a_run(page: Page, deployment: Deployment) -> None:
    key = deployment.org("No Runs Yet", "growth")
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs")
    empty = page.locator(".empty")
    expect(empty.get_by_role("heading", name="No runs yet")).to_be_visible()
    steps = empty.get_by_role("listitem")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("press Run (in the list or in the editor)")
    expect(steps.nth(1)).to_contain_text("POST /v1/workflows/{id}/trigger")
    expect(steps.nth(2)).to_contain_text("POST /v1/events")
    empty.get_by_role("link", name="Go to Workflows").click()
    page.wait_for_url("**/workflows")

    # Filtered to nothing, it says so and offers every run instead.
    page.goto(f"{deployment.base_url}/runs?status=cancelled")
    expect(page.get_by_role("heading", name="No runs match these filters")).to_be_visible()
    expect(page.get_by_role("link", name="Show all runs")).to_have_attribute("href", "/runs")


def test_the_runs_list_shows_new_runs_and_their_outcome_without_a_reload(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Following", "growth")
    workflow_id = publish(
        deployment, key, "Followed", request_step("one", f"{deployment.receiver_url}/users")
    )
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs")
    expect(page.get_by_role("heading", name="No runs yet")).to_be_visible()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    first = start_run(deployment, key, workflow_id)
    row = page.get_by_role("row", name=re.compile(first))
    expect(row).to_be_visible(timeout=10000)
    expect(row.locator(".badge")).to_have_text("completed", timeout=10000)
    second = start_run(deployment, key, workflow_id)
    expect(page.get_by_role("row", name=re.compile(second))).to_be_visible(timeout=10000)
    expect(page.get_by_role("status")).to_contain_text("1 new run just started.")
    rows = page.locator("tbody tr")
    expect(rows.first).to_have_attribute("data-run-id", second)  # newest first
    assert navigations == []  # no reload, no navigation
