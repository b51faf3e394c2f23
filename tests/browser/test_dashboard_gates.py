"""The plan gate from the dashboard, keyboard use of +, and a narrow window."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.conftest import Deployment, screenshot, sign_in


def test_a_startup_organization_cannot_add_or_publish_the_step(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Tiny Startup", "startup")
    sign_in(page, deployment, key)
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_label("Workflow name").fill("Wants HTTPS")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r"/workflows/wfl_"))

    page.locator(".connector").first.hover()
    page.get_by_role("button", name="Add a step at position 1").click()
    dialog = page.get_by_role("dialog", name="Find Action")
    option = dialog.get_by_role("option", name=re.compile("Make HTTPS Request"))
    expect(option).to_have_attribute("aria-disabled", "true")
    expect(option).to_contain_text("Available on the Growth and Enterprise plans")
    expect(option).to_be_disabled()
    option.click(force=True)  # as a user clicking it anyway
    expect(dialog).to_be_visible()  # choosing it does nothing
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".step-node")).to_have_count(0)

    # A draft with the step can be saved (through the API), but Publish is refused.
    workflow_id = page.url.rsplit("/", 1)[1]
    with deployment.api(key) as api:
        saved = api.put(
            f"/v1/workflows/{workflow_id}/draft",
            json={
                "document": {
                    "name": "Wants HTTPS",
                    "trigger": {},
                    "steps": [
                        {
                            "id": "call",
                            "action": "make_https_request",
                            "url": f"{deployment.receiver_url}/users",
                        }
                    ],
                }
            },
        )
        assert saved.status_code == 200
    page.reload()
    page.get_by_role("button", name="Publish").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(
        "The Make HTTPS Request step is available on the Growth and Enterprise plans"
    )
    expect(alert).to_contain_text("steps[0].action")
    expect(page.locator(".editor-header .badge")).to_have_text("draft")


def test_the_add_step_button_shows_on_keyboard_focus(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Keyboard Ltd", "growth")
    sign_in(page, deployment, key)
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_label("Workflow name").fill("By keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/workflows/wfl_"))
    add = page.get_by_role("button", name="Add a step at position 1")
    page.get_by_label("Event name").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if add.evaluate("element => element === document.activeElement"):
            break
    assert add.evaluate("element => element === document.activeElement")
    expect(add).to_have_css("opacity", "1")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Find Action")
    expect(dialog.get_by_label("Search actions")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the first option: Make HTTPS Request
    expect(page.get_by_role("complementary", name="Make HTTPS Request")).to_be_visible()


def test_the_editor_fits_a_narrow_window(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Narrow GmbH", "growth")
    with deployment.api(key) as api:
        created = api.post(
            "/v1/workflows",
            json={
                "document": {
                    "name": "Narrow",
                    "trigger": {"event": "thing.happened"},
                    "steps": [
                        {
                            "id": "first",
                            "action": "make_https_request",
                            "url": "https://example.com/a",
                        }
                    ],
                }
            },
        ).json()
    page.set_viewport_size({"width": 400, "height": 800})
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/workflows/{created['workflow']['id']}")
    page.get_by_role("button", name="Step 1: first").click()
    panel = page.get_by_role("complementary", name="Make HTTPS Request")
    expect(panel).to_be_visible()
    overflow = page.evaluate(
        "() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at 400px wide"
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_in_viewport()  # the top bar wraps instead of hiding it
    flow_box = page.get_by_role("region", name="Flow").bounding_box()
    panel_box = panel.bounding_box()
    assert flow_box is not None
    assert panel_box is not None
    assert panel_box["y"] >= flow_box["y"] + flow_box["height"] - 1  # the panel goes below
    screenshot(page, "editor-narrow")
