"""Schemas from examples (issue 11): "Infer from sample" writes the Trigger Schema from an
example payload; "Use this response" writes the Response Schema from a tested answer.
Both are JSON Schemas with types, required keys, nested objects and arrays, editable after."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from browser.conftest import Deployment
from browser.editor_pages import draft_document, make_workflow, open_editor, open_step, save, step

EXAMPLE = {
    "id": "inq_1",
    "score": 9.5,
    "count": 3,
    "verified": True,
    "tags": ["new"],
    "address": {"city": "Oslo", "zip": None},
    "items": [{"sku": "a", "qty": 1}, {"sku": "b"}],
}
EXAMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "score": {"type": "number"},
        "count": {"type": "integer"},
        "verified": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "null"}},
            "required": ["city", "zip"],
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                "required": ["sku"],  # only the keys every item has
            },
        },
    },
    "required": ["id", "score", "count", "verified", "tags", "address", "items"],
}


def test_infer_from_sample_writes_an_editable_trigger_schema(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Infer", "growth")
    workflow_id = make_workflow(
        deployment,
        key,
        {"name": "Infer", "trigger": {}, "steps": [step(f"{deployment.receiver_url}/users")]},
    )
    open_editor(page, deployment, key, workflow_id)
    page.get_by_text("Trigger Schema", exact=True).click()
    schema = page.get_by_label("Trigger Schema (JSON Schema of the payload)")
    infer = page.get_by_role("button", name="Infer from sample")
    infer.click()
    expect(page.locator("#trigger-example-check")).to_have_text("Paste an example payload first.")
    page.get_by_label("Example payload").fill(json.dumps(EXAMPLE))
    infer.click()
    assert json.loads(schema.input_value()) == EXAMPLE_SCHEMA
    expect(page.locator("#trigger-example-check")).to_contain_text("edit it as you need")

    # The example is the sample trigger data of Test step, and the + offers the new fields.
    panel = open_step(page, "Step 1: call")
    assert json.loads(panel.get_by_label("Sample trigger data").input_value()) == EXAMPLE
    panel.get_by_role("button", name="Insert a reference into URL").click()
    menu = panel.get_by_role("listbox", name="References for URL")
    expect(menu.locator('[data-ref="trigger.address.city"]')).to_be_visible()
    expect(menu.locator('[data-ref="trigger.items"]')).to_be_visible()
    page.keyboard.press("Escape")

    # Editable after: a change to the made schema is what is saved.
    edited = dict(EXAMPLE_SCHEMA, required=["id"])
    schema.fill(json.dumps(edited))
    save(page)
    assert draft_document(deployment, key, workflow_id)["trigger"]["schema"] == edited


def test_use_this_response_writes_the_response_schema(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Use Response", "growth")
    sent = {"name": "Ada", "tags": ["x", "y"], "address": {"city": "Oslo"}, "orders": []}
    workflow_id = make_workflow(
        deployment,
        key,
        {
            "name": "Echo",
            "trigger": {},
            "steps": [step(f"{deployment.receiver_url}/echo", body=sent)],
        },
    )
    open_editor(page, deployment, key, workflow_id)
    panel = open_step(page, "Step 1: call")
    panel.get_by_role("button", name="Test step").click()
    result = panel.locator(".test-result")
    expect(result.locator(".badge").first).to_have_text("succeeded", timeout=15000)
    result.get_by_role("button", name="Use this response").click()
    expect(result).to_contain_text("Response Schema made from this response")
    made = json.loads(panel.get_by_label("Response Schema", exact=True).input_value())
    assert made == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            "orders": {"type": "array"},
            "id": {"type": "string"},  # the receiver's /echo adds an id
        },
        "required": ["name", "tags", "address", "orders", "id"],
    }
    save(page)
    assert draft_document(deployment, key, workflow_id)["steps"][0]["response_schema"] == made
    # The schema made holds for the answer it came from: testing again succeeds.
    panel.get_by_role("button", name="Test step").click()
    expect(result.locator(".badge").first).to_have_text("succeeded", timeout=15000)


def test_no_use_this_response_for_an_answer_that_is_not_json(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Not JSON", "growth")
    workflow_id = make_workflow(
        deployment,
        key,
        {"name": "Empty", "trigger": {}, "steps": [step(f"{deployment.receiver_url}/status/204")]},
    )
    open_editor(page, deployment, key, workflow_id)
    panel = open_step(page, "Step 1: call")
    panel.get_by_role("button", name="Test step").click()
    result = panel.locator(".test-result")
    expect(result.locator(".badge").first).to_have_text("succeeded", timeout=15000)
    expect(result.get_by_role("button", name="Use this response")).to_have_count(0)
