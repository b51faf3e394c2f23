"""Test step in the editor: its result in view, its sample kept, its table inside the panel,
and the draft's problems listed as they are now (issue 11, items 1-4)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from browser.conftest import ARTIFACTS, Deployment
from browser.editor_pages import add_secret, make_workflow, open_editor, open_step, step

SAMPLE = '{"id": "inq_1", "email": "ada@example.com"}'
LONG_PATH = "/users/" + "a-rather-long-path-segment-" * 6


def _tested_panel(page: Page, deployment: Deployment, org: str) -> Locator:
    """A signed step with a long URL, tested once with SAMPLE; return the open panel."""
    key = deployment.org(org, "growth")
    add_secret(deployment, key, "crm_signing", "s3cr3t")
    workflow_id = make_workflow(
        deployment,
        key,
        {
            "name": "Tested",
            "trigger": {},
            "steps": [
                step(
                    f"{deployment.receiver_url}{LONG_PATH}{{{{ trigger.id }}}}",
                    secret="{{ secrets.crm_signing }}",
                    retry_intervals=[1, 2, 4],
                    headers=[{"key": "X-Source", "value": "callout dashboard"}],
                    body={"email": "{{ trigger.email }}"},
                )
            ],
        },
    )
    open_editor(page, deployment, key, workflow_id)
    panel = open_step(page, "Step 1: call")
    panel.get_by_label("Sample trigger data").fill(SAMPLE)
    panel.get_by_role("button", name="Test step").click()
    expect(panel.locator(".test-result .badge").first).to_have_text("succeeded", timeout=15000)
    return panel


def test_the_result_of_test_step_is_brought_into_view_and_focused(
    page: Page, deployment: Deployment
) -> None:
    panel = _tested_panel(page, deployment, "In View")
    result = panel.locator(".test-result")
    expect(result.locator(".badge").first).to_be_in_viewport()
    assert result.evaluate("element => element === document.activeElement")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-test-result.png"))  # the viewport, as seen


def test_test_step_keeps_the_sample_trigger_data(page: Page, deployment: Deployment) -> None:
    panel = _tested_panel(page, deployment, "Keeps Sample")
    expect(panel.get_by_label("Sample trigger data")).to_have_value(SAMPLE)
    # Closing the panel and opening it again keeps it too, and so does a reload (this tab).
    panel.get_by_role("button", name="Close").first.click()
    panel = open_step(page, "Step 1: call")
    expect(panel.get_by_label("Sample trigger data")).to_have_value(SAMPLE)
    page.reload()
    panel = open_step(page, "Step 1: call")
    expect(panel.get_by_label("Sample trigger data")).to_have_value(SAMPLE)


def test_the_request_table_fits_the_panel(page: Page, deployment: Deployment) -> None:
    panel = _tested_panel(page, deployment, "Fits")
    expect(panel.locator(".test-result")).to_contain_text("Persona-Signature")
    sideways = panel.evaluate("element => element.scrollWidth - element.clientWidth")
    assert sideways <= 1, f"the step panel scrolls sideways by {sideways}px"
    table = panel.locator(".test-result table").first
    table_box, panel_box = table.bounding_box(), panel.bounding_box()
    assert table_box is not None
    assert panel_box is not None
    assert table_box["x"] + table_box["width"] <= panel_box["x"] + panel_box["width"]


def test_the_problems_banner_follows_the_draft(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Fresh Problems", "growth")
    workflow_id = make_workflow(deployment, key, {"name": "New", "trigger": {}, "steps": []})
    open_editor(page, deployment, key, workflow_id)
    messages = page.locator(".messages")
    stale = re.compile(r"steps:? is required", re.IGNORECASE)
    expect(messages).to_contain_text(re.compile("This draft has .*problems? to fix"))
    expect(messages).to_contain_text(stale)

    page.locator(".connector").first.hover()
    page.get_by_role("button", name="Add a step at position 1").click()
    page.get_by_role("dialog", name="Find Action").get_by_role(
        "option", name="Make HTTPS Request"
    ).click()
    # Adding the step asks the server again: the banner names what is missing now.
    expect(messages).not_to_contain_text(stale)
    expect(messages).to_contain_text(re.compile(r"Step 1 \(request_1\), URL is required"))

    panel = page.get_by_role("complementary", name="Make HTTPS Request")
    panel.get_by_label("URL", exact=True).fill(f"{deployment.receiver_url}/users")
    panel.get_by_role("button", name="Test step").click()
    expect(panel.locator(".test-result .badge").first).to_have_text("succeeded", timeout=15000)
    # Test step saved the draft: nothing is left to fix, and the banner says so.
    expect(messages).not_to_contain_text("This draft has")
    expect(messages).to_contain_text("no problems left")


def test_the_result_of_test_step_stops_below_the_top_bar_at_400px(
    page: Page, deployment: Deployment
) -> None:
    # The top bar is sticky (two lines high at 400 px): a result scrolled to the window's top
    # edge would sit under it, its outcome hidden.
    page.set_viewport_size({"width": 400, "height": 800})
    panel = _tested_panel(page, deployment, "Below The Bar")
    outcome = panel.locator(".test-result .outcome")
    expect(outcome).to_be_in_viewport()
    bar, seen = page.locator(".topbar").bounding_box(), outcome.bounding_box()
    assert bar is not None
    assert seen is not None
    assert seen["y"] >= bar["y"] + bar["height"], (seen, bar)
