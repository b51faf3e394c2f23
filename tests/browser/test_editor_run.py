"""Run from the dashboard: a Run button on a published workflow, in the editor and in the
workflow list, a payload checked as you type, a run started with an Idempotency-Key, and its
page opened (issue 11, "Run from the dashboard")."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Locator, Page, Route, expect

from browser.accessibility import assert_accessible
from browser.conftest import Deployment, screenshot, sign_in
from browser.editor_pages import make_workflow, open_editor, open_step, step

SCHEMA = {
    "type": "object",
    "required": ["id", "email"],
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string", "pattern": "@"},
        "score": {"type": "number"},
    },
}


def _published(deployment: Deployment, key: str, name: str = "Runnable") -> str:
    return make_workflow(
        deployment,
        key,
        {
            "name": name,
            "trigger": {"schema": SCHEMA},
            "steps": [
                step(f"{deployment.receiver_url}/echo", body={"email": "{{ trigger.email }}"})
            ],
        },
        publish=True,
    )


def _runs(deployment: Deployment, key: str, workflow_id: str) -> list[dict[str, Any]]:
    with deployment.api(key) as api:
        return list(api.get("/v1/runs", params={"workflow_id": workflow_id}).json()["data"])


def _dialog(page: Page) -> Locator:
    dialog = page.get_by_role("dialog", name=re.compile("^Run "))
    expect(dialog).to_be_visible()
    expect(dialog.locator("#run-payload-source")).to_contain_text("Prefilled from")
    return dialog


def _payload(dialog: Locator) -> Any:
    return json.loads(dialog.get_by_label("Trigger payload (JSON)").input_value())


def test_run_in_the_editor_checks_the_payload_and_opens_the_run(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Run Editor", "growth")
    workflow_id = _published(deployment, key)
    open_editor(page, deployment, key, workflow_id)
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = _dialog(page)
    # No sample and no run yet: an example made from the Trigger Schema.
    expect(dialog).to_contain_text("an example made from the Trigger Schema")
    assert _payload(dialog) == {"id": "", "email": "", "score": 0}
    box = dialog.get_by_label("Trigger payload (JSON)")
    check = dialog.locator("#run-payload-check")
    start = dialog.get_by_role("button", name="Start run")

    box.fill('{"id": "inq_9",')
    expect(check).to_contain_text("Not valid JSON yet")
    expect(start).to_be_disabled()
    box.fill('{"id": 9, "score": "high"}')
    expect(check).to_contain_text("email is required")
    expect(check).to_contain_text("id should be a string, not an integer")
    expect(check).to_contain_text("score should be a number, not a string")
    expect(box).to_have_attribute("aria-invalid", "true")
    box.fill('{"id": "inq_9", "email": "ada@example.com"}')
    expect(check).to_contain_text("fits the Trigger Schema")
    assert_accessible(page)
    screenshot(page, "run-dialog")
    start.click()

    page.wait_for_url(re.compile(r"/runs/wfr_"))
    expect(page.locator(".page-header .badge")).to_have_text("completed", timeout=15000)
    runs = _runs(deployment, key, workflow_id)
    assert len(runs) == 1
    with deployment.api(key) as api:
        trigger = api.get(f"/v1/runs/{runs[0]['id']}/trigger").json()["trigger"]
        calls = api.get("/v1/trigger-calls").json()["data"]
    assert trigger == {"id": "inq_9", "email": "ada@example.com"}
    assert re.fullmatch(r"dash_[0-9a-f]{32}", calls[0]["idempotency_key"])


def test_run_is_prefilled_from_the_sample_trigger_data(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Run Sample", "growth")
    workflow_id = _published(deployment, key)
    open_editor(page, deployment, key, workflow_id)
    panel = open_step(page, "Step 1: call")
    panel.get_by_label("Sample trigger data").fill('{"id": "inq_s", "email": "s@example.com"}')
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = _dialog(page)
    expect(dialog).to_contain_text("the sample trigger data you last used")
    assert _payload(dialog) == {"id": "inq_s", "email": "s@example.com"}


def test_run_in_the_workflow_list_starts_from_the_last_runs_payload(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Run List", "growth")
    workflow_id = _published(deployment, key, "Listed")
    make_workflow(deployment, key, {"name": "Draft only", "trigger": {}, "steps": []})
    with deployment.api(key) as api:
        earlier = {"id": "inq_last", "email": "last@example.com", "score": 7}
        started = api.post(f"/v1/workflows/{workflow_id}/trigger", json={"payload": earlier})
        assert started.status_code == 202, started.text
    sign_in(page, deployment, key)
    expect(
        page.get_by_role("row", name=re.compile("Draft only")).get_by_role("button")
    ).to_have_count(0)
    page.get_by_role("row", name=re.compile("Listed")).get_by_role(
        "button", name="Run Listed"
    ).click()
    dialog = _dialog(page)
    expect(dialog).to_contain_text("the payload of the last run")
    assert _payload(dialog) == earlier
    dialog.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/wfr_"))
    expect(page.locator(".page-header .badge")).to_have_text("completed", timeout=15000)
    assert len(_runs(deployment, key, workflow_id)) == 2


def test_a_payload_the_server_refuses_is_explained_and_can_be_fixed(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Run Refused", "growth")
    workflow_id = _published(deployment, key)
    open_editor(page, deployment, key, workflow_id)
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = _dialog(page)
    box = dialog.get_by_label("Trigger payload (JSON)")
    # The quick check in the page knows types and required keys; the server knows patterns.
    box.fill('{"id": "inq_1", "email": "no at sign"}')
    expect(dialog.locator("#run-payload-check")).to_contain_text("fits the Trigger Schema")
    dialog.get_by_role("button", name="Start run").click()
    alert = dialog.get_by_role("alert")
    expect(alert.locator(".what")).to_have_text(
        "The payload does not match the workflow's Trigger Schema, so no run was started."
    )
    expect(alert.locator("li").first).to_contain_text("email")
    expect(alert.locator("details.technical")).to_contain_text("invalid_payload")
    assert _runs(deployment, key, workflow_id) == []
    box.fill('{"id": "inq_1", "email": "ada@example.com"}')
    dialog.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/wfr_"))
    assert len(_runs(deployment, key, workflow_id)) == 1


def test_pressing_start_again_after_a_lost_answer_starts_one_run(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Run Twice", "growth")
    workflow_id = _published(deployment, key)
    open_editor(page, deployment, key, workflow_id)
    lost: list[str] = []
    keys: list[str | None] = []

    def lose_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if lost:
            route.continue_()
            return
        answer = route.fetch()  # the server starts the run...
        lost.append(answer.json()["run_id"])
        route.abort()  # ...but the browser never hears of it

    page.route(f"**/v1/workflows/{workflow_id}/trigger", lose_the_first_answer)
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = _dialog(page)
    dialog.get_by_label("Trigger payload (JSON)").fill('{"id": "inq_2", "email": "a@example.com"}')
    dialog.get_by_role("button", name="Start run").click()
    expect(dialog.get_by_role("alert")).to_contain_text("callout could not be reached.")
    dialog.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/wfr_"))
    assert page.url.endswith(f"/runs/{lost[0]}")  # the same key: the first run, not a second
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert re.fullmatch(r"dash_[0-9a-f]{32}", keys[0] or ""), keys
    assert len(_runs(deployment, key, workflow_id)) == 1
