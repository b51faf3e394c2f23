"""The lists on a narrow window (400 px): each workflow, run and secret reads as a card,
nothing scrolls sideways, and what a row shows or offers (the last 24 hours, Run, a run's
status, Rotate and Delete) is on screen."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from browser.accessibility import assert_accessible
from browser.conftest import Deployment, screenshot, sign_in
from browser.editor_pages import add_secret, make_workflow, step
from browser.published import finished_run, publish, request_step, start_run

WIDTH = 400


def _no_sideways_scroll(table: Locator) -> None:
    """Neither the page nor the table is wider than what shows of it."""
    widths = table.evaluate(
        "t => ({page: document.documentElement.scrollWidth,"
        " window: document.documentElement.clientWidth,"
        " table: t.scrollWidth, tableBox: t.clientWidth})"
    )
    assert widths["page"] <= widths["window"], widths
    assert widths["table"] <= widths["tableBox"], widths


def _within_the_window(element: Locator) -> None:
    """The element lies between the window's left and right edges (not scrolled away)."""
    box = element.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= WIDTH, box


def test_the_workflow_list_reads_as_cards_at_400px(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Narrow List", "growth")
    crm = publish(
        deployment,
        key,
        "Create the user in our CRM and tell the sales channel",
        request_step("call", f"{deployment.receiver_url}/status/{{{{ trigger.code }}}}"),
    )
    for code in (201, 500):
        finished_run(deployment, key, start_run(deployment, key, crm, {"code": code}))
    make_workflow(
        deployment,
        key,
        {"name": "Draft only", "trigger": {}, "steps": [step(f"{deployment.receiver_url}/x")]},
    )
    page.set_viewport_size({"width": WIDTH, "height": 800})
    sign_in(page, deployment, key)

    row = page.get_by_role("row", name=re.compile("^Create the user"))
    chart = row.locator("svg.activity-svg")
    run = row.get_by_role("button", name=re.compile("^Run "))
    expect(chart).to_be_visible()
    expect(row.locator(".activity-rate")).to_have_text("50% failed (1 of 2)")
    expect(run).to_be_visible()
    # Nothing scrolls sideways: not the page, not the list.
    table = page.get_by_role("table", name="All workflows")
    _no_sideways_scroll(table)
    for element in (row.get_by_role("link").first, chart, row.locator(".activity-rate"), run):
        _within_the_window(element)
    # Each value says what it is (the column headers are not shown on a card).
    labels = row.locator(".cell-label")
    expect(labels.filter(has_text="Last 24 hours")).to_be_visible()
    expect(labels.filter(has_text="Status")).to_be_visible()
    draft = page.get_by_role("row", name=re.compile("^Draft only"))
    expect(draft.locator(".badge")).to_have_text("draft")
    expect(draft.get_by_role("button", name=re.compile("^Run "))).to_have_count(0)
    _within_the_window(draft.locator("svg.activity-svg"))
    assert_accessible(page)
    screenshot(page, "workflows-cards-400")
    # On a wide window it is a table again, its labels hidden (the headers say them).
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(labels.first).to_be_hidden()
    expect(table.locator("thead")).to_be_visible()


def test_the_runs_and_secrets_lists_read_as_cards_at_400px(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Narrow Runs", "growth")
    failing = publish(
        deployment,
        key,
        "Sync the order with the warehouse",
        request_step("sync", f"{deployment.receiver_url}/status/500"),
    )
    run_id = start_run(deployment, key, failing)
    finished_run(deployment, key, run_id)
    add_secret(deployment, key, "warehouse_signing_secret", "whsec_narrow")
    page.set_viewport_size({"width": WIDTH, "height": 800})
    sign_in(page, deployment, key)

    page.goto(f"{deployment.base_url}/runs")
    run = page.locator(f'tr[data-run-id="{run_id}"]')
    expect(run.locator(".badge")).to_have_text("failed")
    _no_sideways_scroll(page.get_by_role("table", name="Runs"))
    for element in (
        run.get_by_role("link", name=run_id),
        run.locator(".badge"),
        run.locator("td").last,
    ):
        _within_the_window(element)
    expect(run.locator(".cell-label").filter(has_text="Finished")).to_be_visible()
    expect(run.locator(".finished .cell-value")).to_contain_text("ago")

    page.goto(f"{deployment.base_url}/secrets")
    secret = page.get_by_role("row", name=re.compile("warehouse_signing_secret"))
    rotate = secret.get_by_role("button", name="Rotate warehouse_signing_secret")
    expect(rotate).to_be_visible()
    _no_sideways_scroll(page.get_by_role("table", name="Secrets"))
    _within_the_window(rotate)
    _within_the_window(secret.get_by_role("button", name="Delete warehouse_signing_secret"))
    # Rotate opens its form under the card, on screen too.
    rotate.click()
    value = page.get_by_label(re.compile("New value", re.IGNORECASE))
    expect(value).to_be_visible()
    _within_the_window(value)
    _no_sideways_scroll(page.get_by_role("table", name="Secrets"))
    assert_accessible(page)
    screenshot(page, "secrets-cards-400")
