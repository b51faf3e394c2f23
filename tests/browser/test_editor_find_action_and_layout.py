"""Find Action by keyboard, the Trigger Schema's example, rows at 400 px (issue 11, item 8)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.conftest import Deployment, screenshot
from browser.editor_pages import make_workflow, open_editor, open_step, step


def _find_action(page: Page, deployment: Deployment, org: str) -> None:
    key = deployment.org(org, "growth")
    workflow_id = make_workflow(deployment, key, {"name": "Keys", "trigger": {}, "steps": []})
    open_editor(page, deployment, key, workflow_id)
    page.locator(".connector").first.hover()
    page.get_by_role("button", name="Add a step at position 1").click()
    search = page.get_by_role("dialog", name="Find Action").get_by_label("Search actions")
    expect(search).to_be_focused()
    search.press_sequentially("https")


def test_enter_in_find_action_picks_the_only_match(page: Page, deployment: Deployment) -> None:
    _find_action(page, deployment, "Enter Picks")
    page.keyboard.press("Enter")
    expect(page.get_by_role("complementary", name="Make HTTPS Request")).to_be_visible()
    expect(page.get_by_role("dialog", name="Find Action")).to_have_count(0)


def test_arrow_down_in_find_action_goes_to_the_match(page: Page, deployment: Deployment) -> None:
    _find_action(page, deployment, "Arrow Picks")
    page.keyboard.press("ArrowDown")
    option = page.get_by_role("option", name="Make HTTPS Request")
    expect(option).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("complementary", name="Make HTTPS Request")).to_be_visible()


def test_enter_picks_nothing_when_nothing_matches(page: Page, deployment: Deployment) -> None:
    _find_action(page, deployment, "Enter Nothing")
    search = page.get_by_label("Search actions")
    search.fill("no such action")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Find Action")).to_contain_text("No action matches.")
    expect(page.get_by_role("complementary", name="Make HTTPS Request")).to_have_count(0)


def test_the_trigger_schema_box_shows_an_example(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Schema Example", "growth")
    workflow_id = make_workflow(deployment, key, {"name": "Example", "trigger": {}, "steps": []})
    open_editor(page, deployment, key, workflow_id)
    page.get_by_text("Trigger Schema", exact=True).click()
    box = page.get_by_label("Trigger Schema (JSON Schema of the payload)")
    expect(box).to_have_value("")
    placeholder = box.get_attribute("placeholder") or ""
    assert '"type": "object"' in placeholder
    assert '"required"' in placeholder


def test_remove_buttons_stay_on_their_rows_at_400px(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Narrow Rows", "growth")
    workflow_id = make_workflow(
        deployment,
        key,
        {
            "name": "Rows",
            "trigger": {},
            "steps": [
                step(
                    "https://example.com/a",
                    headers=[
                        {"key": "X-Api-Version", "value": "2024-01-01"},
                        {"key": "X-Source", "value": "callout"},
                    ],
                    query=[{"key": "limit", "value": "10"}],
                    retry_intervals=[5, 10],
                )
            ],
        },
    )
    page.set_viewport_size({"width": 400, "height": 800})
    open_editor(page, deployment, key, workflow_id)
    panel = open_step(page, "Step 1: call")
    rows = [
        ("Header 1 key", "Remove header 1"),
        ("Header 2 key", "Remove header 2"),
        ("Query parameter 1 key", "Remove query parameter 1"),
        ("Retry 1 after (seconds)", "Remove retry interval 1"),
        ("Retry 2 after (seconds)", "Remove retry interval 2"),
    ]
    for field, remove in rows:
        input_box = panel.get_by_label(field, exact=True).bounding_box()
        button_box = panel.get_by_role("button", name=remove).bounding_box()
        assert input_box is not None
        assert button_box is not None
        middle = button_box["y"] + button_box["height"] / 2
        assert input_box["y"] <= middle <= input_box["y"] + input_box["height"], (
            f"{remove!r} is not on the row of {field!r}"
        )
    overflow = page.evaluate(
        "() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at 400px wide"
    screenshot(page, "step-panel-narrow")


def test_the_workflow_name_in_the_header_is_shown_whole(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Long Name", "growth")
    name = "Create the user in our CRM and tell the sales channel"
    workflow_id = make_workflow(deployment, key, {"name": name, "trigger": {}, "steps": []})
    open_editor(page, deployment, key, workflow_id)
    title = page.get_by_label("Workflow name")
    expect(title).to_have_value(name)
    hidden = title.evaluate("input => input.scrollWidth - input.clientWidth")
    assert hidden <= 1, f"{hidden}px of the name are scrolled out of its box"
    # Typing more widens it too; at 400 px it takes the width there is, no more.
    title.press("End")
    title.press_sequentially(" today")
    assert title.evaluate("input => input.scrollWidth - input.clientWidth") <= 1
    page.set_viewport_size({"width": 400, "height": 800})
    box = title.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 400
