"""The original product's walk, in callout's dashboard, in a real browser.

Create a workflow, add Make HTTPS Request through + and Find Action, fill every
field, insert a trigger field with +, test the step against a real local HTTPS
receiver, save, publish, trigger through the API, watch the run, see a failed
step red, resume it; manage secrets; no secret value in any page.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from browser.conftest import Deployment, screenshot, sign_in

SECRET_VALUE = "s3cr3t"  # the receiver verifies signatures with it


def _add_secret(page: Page) -> None:
    page.get_by_role("link", name="Secrets").click()
    page.get_by_label("Name", exact=True).fill("crm_signing")
    page.get_by_label("Value", exact=True).fill(SECRET_VALUE)
    page.get_by_role("button", name="Add secret").click()
    expect(page.get_by_role("cell", name="crm_signing", exact=True)).to_be_visible()


def _create_workflow_with_trigger(page: Page) -> None:
    page.get_by_role("link", name="Workflows").click()
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_label("Workflow name").fill("Create the user")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r"/workflows/wfl_"))
    expect(page.get_by_role("region", name="Trigger")).to_be_visible()
    # The trigger: an event and a schema whose fields the + will offer.
    page.get_by_label("Event name").fill("inquiry.completed")
    page.get_by_text("Trigger Schema", exact=True).click()
    page.get_by_label("Trigger Schema (JSON Schema of the payload)").fill(
        '{"type": "object", "required": ["id"], "properties": '
        '{"id": {"type": "string"}, "email": {"type": "string"}}}'
    )


def _add_step_through_find_action(page: Page) -> Locator:
    # + on the line (shown on hover) opens Find Action; Compute > Make HTTPS Request.
    page.locator(".connector").first.hover()
    page.get_by_role("button", name="Add a step at position 1").click()
    dialog = page.get_by_role("dialog", name="Find Action")
    expect(dialog.get_by_role("group", name="Compute")).to_be_visible()
    dialog.get_by_label("Search actions").fill("https")
    dialog.get_by_role("option", name="Make HTTPS Request").click()
    panel = page.get_by_role("complementary", name="Make HTTPS Request")
    expect(panel).to_be_visible()
    return panel


def _fill_the_request(panel: Locator, deployment: Deployment) -> None:
    panel.get_by_label("Step ID").fill("create_user")
    url = panel.get_by_label("URL", exact=True)
    url.fill(f"{deployment.receiver_url}/users/")
    panel.get_by_role("button", name="Insert a reference into URL").click()
    menu = panel.get_by_role("listbox", name="References for URL")
    expect(menu.get_by_role("group", name="Trigger")).to_be_visible()
    expect(menu.get_by_role("group", name="Secrets")).to_be_visible()
    menu.locator('[data-ref="trigger.id"]').click()
    expect(url).to_have_value(f"{deployment.receiver_url}/users/{{{{ trigger.id }}}}")

    method = panel.get_by_label("Request Type")
    expect(method.locator("option")).to_have_text(["DELETE", "GET", "PATCH", "POST", "PUT"])
    method.select_option("GET")
    expect(panel.get_by_label("Body JSON", exact=True)).to_be_hidden()  # no body on GET
    method.select_option("PUT")
    body = panel.get_by_label("Body JSON", exact=True)
    body.fill('{"email": ')
    expect(panel.get_by_text(re.compile("Body JSON: not valid JSON"))).to_be_visible()
    body.fill('{"email": "{{ trigger.email }}", "source": "dashboard"}')
    expect(panel.get_by_text("Valid JSON").first).to_be_visible()

    panel.get_by_role("button", name="Add header").click()
    panel.get_by_label("Header 1 key", exact=True).fill("X-Source")
    panel.get_by_label("Header 1 value", exact=True).fill("callout dashboard")
    panel.get_by_role("button", name="Add header").click()
    panel.get_by_label("Header 2 key", exact=True).fill("X-Extra")
    panel.get_by_role("button", name="Remove header 2").click()
    expect(panel.get_by_label("Header 2 key", exact=True)).to_have_count(0)

    schema = panel.get_by_label("Response Schema", exact=True)
    schema.fill('{"type": "objekt"}')
    expect(panel.get_by_text(re.compile('Response Schema: "type" must be one of'))).to_be_visible()
    schema.fill('{"type": "object"}')


def _fill_the_advanced_configuration(panel: Locator) -> None:
    panel.get_by_text("Advanced Configuration").click()
    panel.get_by_label("Secret", exact=True).select_option("crm_signing")
    panel.get_by_role("button", name="Add interval").click()
    panel.get_by_role("button", name="Add interval").click()
    panel.get_by_label("Retry 1 after (seconds)").fill("1")
    panel.get_by_label("Retry 2 after (seconds)").fill("2")
    panel.get_by_label("Request Timeout (seconds)").fill("10")
    expect(panel.get_by_label("Continue on error")).not_to_be_checked()


def _test_the_step(panel: Locator, deployment: Deployment) -> None:
    # Test step: one real attempt against the receiver, shown as sent.
    panel.get_by_label("Sample trigger data").fill('{"id": ')
    panel.get_by_role("button", name="Test step").click()
    expect(panel.locator(".test-result")).to_contain_text("Fix the sample data first")
    panel.get_by_label("Sample trigger data").fill('{"id": "inq_1", "email": "ada@example.com"}')
    panel.get_by_role("button", name="Test step").click()
    result = panel.locator(".test-result")
    expect(result.locator(".badge").first).to_have_text("succeeded", timeout=15000)
    expect(result).to_contain_text(f"PUT {deployment.receiver_url}/users/inq_1")
    expect(result).to_contain_text("Persona-Signature")
    expect(result).to_contain_text('{"email":"ada@example.com","source":"dashboard"}')


def _close_save_publish(page: Page, panel: Locator) -> None:
    panel.get_by_role("button", name="Close").first.click()
    expect(panel).to_be_hidden()
    expect(page.get_by_role("button", name="Step 1: create_user")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile(r"Draft v1 saved\. Ready to publish\."))).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text(re.compile(r"Published version 1"))).to_be_visible()
    expect(page.locator(".editor-header .badge")).to_have_text("published")
    page.get_by_text("Version history").click()
    history = page.locator(".history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("v1")
    expect(history.first).to_contain_text("live")
    expect(history.first).to_contain_text("key_")


def _trigger_and_watch(page: Page, deployment: Deployment, key: str) -> str:
    # Trigger through the API; the run page updates without a reload.
    with deployment.api(key) as api:
        workflow_id = page.url.rsplit("/", 1)[1]
        run = api.post(
            f"/v1/workflows/{workflow_id}/trigger",
            json={"payload": {"id": "inq_2", "email": "grace@example.com"}},
        ).json()
    page.goto(f"{deployment.base_url}/runs/{run['run_id']}")
    step = page.get_by_role("region", name="Step 1: create_user")
    expect(step.locator(".run-step-head .badge")).to_have_text("succeeded", timeout=15000)
    expect(page.locator(".page-header .badge")).to_have_text("completed")
    expect(step).to_contain_text("Attempt 1")
    step.get_by_text(re.compile(r"Request: PUT")).click()
    expect(step).to_contain_text("X-Source")
    return str(run["run_id"])


def _archive_and_back(page: Page) -> None:
    page.get_by_role("link", name="Workflows").click()
    expect(page.get_by_role("row", name=re.compile("Create the user"))).to_contain_text("published")
    page.get_by_role("link", name="Create the user").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_text(re.compile("Archived: it starts no more runs"))).to_be_visible()
    expect(page.locator(".editor-header .badge")).to_have_text("archived")
    page.get_by_role("button", name="Unarchive").click()
    expect(page.locator(".editor-header .badge")).to_have_text("published")


def test_the_whole_walk_from_an_empty_organization_to_a_watched_run(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Walk Inc", "growth")
    pages: list[str] = []
    sign_in(page, deployment, key)
    _add_secret(page)
    pages.append(page.content())
    _create_workflow_with_trigger(page)
    panel = _add_step_through_find_action(page)
    _fill_the_request(panel, deployment)
    _fill_the_advanced_configuration(panel)
    screenshot(page, "step-panel")
    _test_the_step(panel, deployment)
    pages.append(page.content())
    _close_save_publish(page, panel)
    screenshot(page, "editor")
    pages.append(page.content())
    run_id = _trigger_and_watch(page, deployment, key)
    pages.append(page.content())
    page.get_by_role("link", name="Runs").first.click()
    expect(page.get_by_role("link", name=run_id)).to_be_visible()
    pages.append(page.content())
    _archive_and_back(page)
    for html in pages:
        assert SECRET_VALUE not in html


def test_a_failed_step_shows_red_with_its_error_and_resumes(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Failing Co", "growth")
    with deployment.api(key) as api:
        created = api.post(
            "/v1/workflows",
            json={
                "document": {
                    "name": "Always fails",
                    "trigger": {},
                    "steps": [
                        {
                            "id": "notify",
                            "action": "make_https_request",
                            "url": f"{deployment.receiver_url}/status/500",
                            "body": {"hello": "world"},
                        },
                        {
                            "id": "after",
                            "action": "make_https_request",
                            "url": f"{deployment.receiver_url}/users",
                            "method": "GET",
                        },
                    ],
                }
            },
        ).json()
        workflow_id = created["workflow"]["id"]
        assert api.post(f"/v1/workflows/{workflow_id}/publish").status_code == 200
        run_id = api.post(f"/v1/workflows/{workflow_id}/trigger", json={}).json()["run_id"]

    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs/{run_id}")
    failed = page.get_by_role("region", name="Step 1: notify")
    expect(failed).to_have_attribute("data-status", "errored", timeout=15000)
    expect(failed).to_have_class(re.compile("status-errored"))
    color = failed.evaluate("element => getComputedStyle(element).borderLeftColor")
    assert color == "rgb(180, 35, 24)"  # the red of --bad
    expect(failed.locator(".error-text").first).to_contain_text("500")
    expect(page.get_by_role("region", name="Step 2: after")).to_have_attribute(
        "data-status", "skipped"
    )
    expect(page.locator(".page-header .badge")).to_have_text("failed")
    screenshot(page, "run-failed")

    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("Resumed from the failed step.")).to_be_visible()
    # The resumed step run fails again (the receiver always answers 500): a second step run.
    expect(page.locator(".page-header .badge")).to_have_text("failed", timeout=15000)
    expect(page.get_by_text(re.compile("resumed \\(a new step run"))).to_be_visible()
