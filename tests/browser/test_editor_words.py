"""Messages for people in the editor and on the sign-in page (issue 11, item 7): what
happened and what to do in plain words, the technical detail one click away, no backticks."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from browser.accessibility import assert_accessible
from browser.conftest import Deployment, sign_in
from browser.editor_pages import make_workflow, open_editor, open_step, step


def _technical_detail(message: Locator) -> Locator:
    """The folded detail of a message: hidden until its summary is clicked."""
    detail = message.locator("details.technical")
    expect(detail).to_have_count(1)
    expect(detail).not_to_have_attribute("open", "")
    expect(detail.locator("ul, p").first).to_be_hidden()
    detail.get_by_text("Technical detail").click()
    expect(detail.locator("ul, p").first).to_be_visible()
    return detail


def test_the_plan_gate_says_what_happened_and_what_to_do(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Words Startup", "startup")
    workflow_id = make_workflow(
        deployment,
        key,
        {"name": "Gated", "trigger": {}, "steps": [step(f"{deployment.receiver_url}/users")]},
    )
    open_editor(page, deployment, key, workflow_id)
    page.get_by_role("button", name="Publish").click()
    alert = page.get_by_role("alert")
    expect(alert.locator(".what")).to_have_text(
        "The Make HTTPS Request step is available on the Growth and Enterprise plans; "
        "this organization is on the Startup plan."
    )
    expect(alert.locator(".todo")).to_contain_text("Remove that step, or ask whoever runs")
    expect(alert.locator(".what")).to_be_visible()
    expect(alert.get_by_text("plan_lacks_action", exact=False)).to_be_hidden()
    detail = _technical_detail(alert)
    expect(detail).to_contain_text("HTTP 403 plan_lacks_action")
    expect(detail).to_contain_text("steps[0].action: make_https_request is not on the startup plan")
    assert "`" not in page.locator("main").inner_text()


def test_a_failed_test_step_is_told_in_plain_words(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Words Growth", "growth")
    workflow_id = make_workflow(
        deployment,
        key,
        {"name": "Fails", "trigger": {}, "steps": [step(f"{deployment.receiver_url}/status/500")]},
    )
    open_editor(page, deployment, key, workflow_id)
    panel = open_step(page, "Step 1: call")
    panel.get_by_role("button", name="Test step").click()
    result = panel.locator(".test-result")
    expect(result.locator(".badge").first).to_have_text("failed", timeout=15000)
    message = result.get_by_role("alert")
    expect(message.locator(".what")).to_have_text(
        "The server answered HTTP 500 (Internal Server Error): a problem on its side."
    )
    expect(message.locator(".todo")).to_contain_text(
        "A run would stop here: this failure may be retried, but the step has no Retry Intervals."
    )
    expect(message.get_by_text(re.compile("http_status"))).to_be_hidden()
    detail = _technical_detail(message)
    expect(detail).to_contain_text("http_status: ")
    assert_accessible(page)
    # Where the server's problem is on a field, it is named as the field is labelled.
    assert "`" not in page.locator("main").inner_text()


def test_the_problems_of_a_draft_name_their_fields(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Words Fields", "growth")
    workflow_id = make_workflow(
        deployment,
        key,
        {"name": "Bad", "trigger": {}, "steps": [step("http://example.com/plain", timeout=0)]},
    )
    open_editor(page, deployment, key, workflow_id)
    banner = page.locator(".messages [role=status]")
    expect(banner).to_contain_text("This draft has 2 problems to fix before it can be published:")
    expect(banner.locator("li").first).to_contain_text("Step 1 (call), URL")
    expect(banner.locator("li").nth(1)).to_contain_text("Step 1 (call), Request Timeout")
    detail = _technical_detail(banner)
    expect(detail).to_contain_text("steps[0].url")


def test_the_sign_in_page_says_what_to_do_without_backticks(
    page: Page, deployment: Deployment
) -> None:
    page.goto(f"{deployment.base_url}/sign-in")
    page.get_by_label("API key").fill("callout_not_a_real_key")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("That API key was not accepted: it is unknown or revoked.")
    expect(alert.locator("code")).to_have_text(["callout keys create", "callout orgs create"])
    detail = _technical_detail(alert)
    expect(detail).to_contain_text("401")
    assert "`" not in page.locator("main").inner_text()
    # The page still signs in with a good key.
    sign_in(page, deployment, deployment.org("Words Sign In", "growth"))
