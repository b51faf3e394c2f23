"""The step panel's fields of issue 13: query parameters, form and raw bodies, authentication,
client certificate, redirects, and Paste cURL. Each writes the workflow document's format
(docs/workflow-document.md); the server checks it (its own tests)."""

from __future__ import annotations

import json
import re
from typing import Any

import trustme
from playwright.sync_api import Locator, Page, Route, expect

from browser.accessibility import assert_accessible
from browser.conftest import Deployment
from browser.editor_pages import (
    add_secret,
    draft_document,
    make_workflow,
    open_editor,
    open_step,
    save,
    step,
)


def _add_certificate(deployment: Deployment, key: str, name: str) -> None:
    """Store a PEM certificate and key, as a certificate secret where the API has kinds."""
    issued = trustme.CA().issue_cert("client.example.com")
    pem = issued.private_key_and_cert_chain_pem.bytes().decode()
    with deployment.api(key) as api:
        stored = api.post("/v1/secrets", json={"name": name, "value": pem, "kind": "certificate"})
        if stored.status_code == 422 and "kind" in stored.text:  # an API without kinds
            stored = api.post("/v1/secrets", json={"name": name, "value": pem})
        assert stored.status_code == 201, stored.text


def _editor(page: Page, deployment: Deployment, org: str, **fields: Any) -> tuple[str, str]:
    key = deployment.org(org, "growth")
    for name in ("stripe_key", "stripe_pw", "crm_token", "oauth_secret"):
        add_secret(deployment, key, name, f"value-of-{name}")
    _add_certificate(deployment, key, "partner_cert")
    workflow_id = make_workflow(
        deployment,
        key,
        {
            "name": "Fields",
            "trigger": {"schema": {"type": "object", "properties": {"email": {"type": "string"}}}},
            "steps": [step("https://api.example.com/v1/charges", **fields)],
        },
    )
    open_editor(page, deployment, key, workflow_id)
    return key, workflow_id


def _insert(panel: Locator, label: str, ref: str) -> None:
    panel.get_by_role("button", name=f"Insert a reference into {label}").click()
    panel.get_by_role("listbox", name=f"References for {label}").locator(
        f'[data-ref="{ref}"]'
    ).click()


def test_query_form_body_basic_auth_certificate_and_redirects_are_written(
    page: Page, deployment: Deployment
) -> None:
    key, workflow_id = _editor(page, deployment, "Fields Form")
    panel = open_step(page, "Step 1: call")
    panel.get_by_role("button", name="Add query parameter").click()
    panel.get_by_label("Query parameter 1 key", exact=True).fill("limit")
    panel.get_by_label("Query parameter 1 value", exact=True).fill("10")
    panel.get_by_role("button", name="Add query parameter").click()
    panel.get_by_label("Query parameter 2 key", exact=True).fill("email")
    _insert(panel, "query parameter 2 value", "trigger.email")

    panel.get_by_label("Body type").select_option(label="Form fields (URL-encoded)")
    expect(panel.get_by_label("Body JSON", exact=True)).to_be_hidden()
    panel.get_by_role("button", name="Add form field").click()
    panel.get_by_label("Form field 1 key", exact=True).fill("amount")
    panel.get_by_label("Form field 1 value", exact=True).fill("2000")
    panel.get_by_role("button", name="Add form field").click()
    panel.get_by_label("Form field 2 key", exact=True).fill("metadata[order]")
    panel.get_by_label("Form field 2 value", exact=True).fill("6735")
    # Raw and back: what was typed in the form stays.
    panel.get_by_label("Body type").select_option(label="Raw text")
    panel.get_by_label("Raw body", exact=True).fill("<ignored/>")
    panel.get_by_label("Body type").select_option(label="Form fields (URL-encoded)")
    expect(panel.get_by_label("Form field 2 key", exact=True)).to_have_value("metadata[order]")

    panel.get_by_label("Authentication type").select_option(label="Basic (user name and password)")
    _insert(panel, "User name", "secrets.stripe_key")
    panel.get_by_label("Password", exact=True).select_option("stripe_pw")

    panel.get_by_text("Advanced Configuration").click()
    panel.get_by_label("Client certificate (mutual TLS)").select_option("partner_cert")
    panel.get_by_label("Follow redirects (up to 5)").check()
    save(page)

    written = draft_document(deployment, key, workflow_id)["steps"][0]
    assert written["query"] == [
        {"key": "limit", "value": "10"},
        {"key": "email", "value": "{{ trigger.email }}"},
    ]
    assert written["body_type"] == "form"
    assert written["body"] == [
        {"key": "amount", "value": "2000"},
        {"key": "metadata[order]", "value": "6735"},
    ]
    assert "content_type" not in written
    assert written["auth"] == {
        "type": "basic",
        "username": "{{ secrets.stripe_key }}",
        "password": "{{ secrets.stripe_pw }}",
    }
    assert written["client_certificate"] == "{{ secrets.partner_cert }}"
    assert written["follow_redirects"] is True


def test_a_raw_body_with_its_content_type_and_bearer_auth_are_written(
    page: Page, deployment: Deployment
) -> None:
    key, workflow_id = _editor(page, deployment, "Fields Raw")
    panel = open_step(page, "Step 1: call")
    panel.get_by_label("Body type").select_option(label="Raw text")
    raw = panel.get_by_label("Raw body", exact=True)
    raw.fill("<order email=")
    _insert(panel, "Raw body", "trigger.email")
    raw.press("End")
    raw.press_sequentially("/>")
    panel.get_by_label("Content type").fill("application/xml")
    panel.get_by_label("Authentication type").select_option(label="Bearer token")
    panel.get_by_label("Token", exact=True).select_option("crm_token")
    save(page)
    written = draft_document(deployment, key, workflow_id)["steps"][0]
    assert written["body_type"] == "raw"
    assert written["body"] == "<order email={{ trigger.email }}/>"
    assert written["content_type"] == "application/xml"
    assert written["auth"] == {"type": "bearer", "token": "{{ secrets.crm_token }}"}

    # GET sends no body: the body and its type leave the document.
    panel.get_by_label("Request Type").select_option("GET")
    expect(panel.get_by_label("Body type")).to_be_hidden()
    save(page)
    written = draft_document(deployment, key, workflow_id)["steps"][0]
    assert not {"body", "body_type", "content_type"} & set(written)


def test_oauth2_client_credentials_are_written_and_shown_again(
    page: Page, deployment: Deployment
) -> None:
    key, workflow_id = _editor(page, deployment, "Fields OAuth")
    panel = open_step(page, "Step 1: call")
    panel.get_by_label("Authentication type").select_option(label="OAuth2 client credentials")
    panel.get_by_label("Token URL").fill("https://auth.example.com/oauth/token")
    panel.get_by_label("Client ID", exact=True).fill("my-client")
    panel.get_by_label("Client secret").select_option("oauth_secret")
    panel.get_by_label("Scopes (separated by spaces)").fill("read  write")
    panel.get_by_label("Audience").fill("https://api.example.com")
    panel.get_by_label("Send the client ID and secret").select_option("body")
    assert_accessible(page)
    save(page)
    expected = {
        "type": "oauth2_client_credentials",
        "token_url": "https://auth.example.com/oauth/token",
        "client_id": "my-client",
        "client_secret": "{{ secrets.oauth_secret }}",
        "scopes": ["read", "write"],
        "audience": "https://api.example.com",
        "client_auth": "body",
    }
    assert draft_document(deployment, key, workflow_id)["steps"][0]["auth"] == expected
    expect(page.locator(".messages")).to_contain_text("Ready to publish")  # the server agrees

    page.reload()
    panel = open_step(page, "Step 1: call")
    expect(panel.get_by_label("Authentication type")).to_have_value("oauth2_client_credentials")
    expect(panel.get_by_label("Token URL")).to_have_value("https://auth.example.com/oauth/token")
    expect(panel.get_by_label("Client secret")).to_have_value("oauth_secret")
    expect(panel.get_by_label("Scopes (separated by spaces)")).to_have_value("read write")
    expect(panel.get_by_label("Send the client ID and secret")).to_have_value("body")


def test_a_document_with_the_new_fields_opens_with_them(page: Page, deployment: Deployment) -> None:
    _editor(
        page,
        deployment,
        "Fields Shown",
        query=[{"key": "expand[]", "value": "customer"}],
        body_type="form",
        body=[{"key": "amount", "value": "{{ trigger.amount }}"}],
        auth={"type": "basic", "username": "sk_live_user"},
        client_certificate="{{ secrets.partner_cert }}",
        follow_redirects=True,
    )
    panel = open_step(page, "Step 1: call")
    expect(panel.get_by_label("Query parameter 1 key", exact=True)).to_have_value("expand[]")
    expect(panel.get_by_label("Body type")).to_have_value("form")
    expect(panel.get_by_label("Form field 1 value", exact=True)).to_have_value(
        "{{ trigger.amount }}"
    )
    expect(panel.get_by_label("User name", exact=True)).to_have_value("sk_live_user")
    expect(panel.get_by_label("Password", exact=True)).to_have_value("")
    expect(panel.get_by_label("Client certificate (mutual TLS)")).to_have_value("partner_cert")
    expect(panel.get_by_label("Follow redirects (up to 5)")).to_be_checked()


CANNED: dict[str, Any] = {
    "step": {
        "id": "stripe_charges",
        "action": "make_https_request",
        "url": "https://api.stripe.com/v1/charges",
        "method": "POST",
        "query": [{"key": "expand[]", "value": "customer"}],
        "headers": [{"key": "Stripe-Version", "value": "2024-06-20"}],
        "body_type": "form",
        "body": [{"key": "amount", "value": "2000"}],
        "auth": {"type": "basic", "username": "{{ secrets.stripe_api_key }}"},
    },
    "secrets": [{"name": "stripe_api_key", "found_in": "-u user name", "stored": False}],
    "notes": ["--compressed is left out: callout asks for any encoding it can read"],
}


def test_paste_curl_fills_the_panel_and_lists_the_secrets_to_store(
    page: Page, deployment: Deployment
) -> None:
    key, workflow_id = _editor(page, deployment, "Curl Canned", retry_intervals=[5])
    asked: list[Any] = []

    def answer(route: Route) -> None:
        asked.append(json.loads(route.request.post_data or "null"))
        route.fulfill(status=200, content_type="application/json", body=json.dumps(CANNED))

    page.route("**/v1/curl-imports", answer)
    panel = open_step(page, "Step 1: call")
    panel.get_by_text("Paste cURL", exact=True).click()
    command = "curl https://api.stripe.com/v1/charges -u sk_test_123: -d amount=2000"
    panel.get_by_label("cURL command").fill(command)
    panel.get_by_role("button", name="Fill from cURL").click()

    report = panel.locator(".curl-report")
    expect(report).to_contain_text("Filled from the cURL command.")
    expect(report.locator("li").first).to_have_text("stripe_api_key (found in -u user name)")
    expect(report.get_by_role("link", name="Open the Secrets page")).to_have_attribute(
        "href", "/secrets"
    )
    expect(report).to_contain_text("--compressed is left out")
    assert asked == [{"command": command}]
    assert_accessible(page)
    expect(panel.get_by_label("URL", exact=True)).to_have_value("https://api.stripe.com/v1/charges")
    expect(panel.get_by_label("Step ID")).to_have_value("call")  # the step keeps its id
    expect(panel.get_by_label("Query parameter 1 key", exact=True)).to_have_value("expand[]")
    expect(panel.get_by_label("Header 1 key", exact=True)).to_have_value("Stripe-Version")
    expect(panel.get_by_label("Form field 1 key", exact=True)).to_have_value("amount")
    expect(panel.get_by_label("Password", exact=True)).to_have_value("")
    expect(panel.get_by_label("User name", exact=True)).to_have_value(
        "{{ secrets.stripe_api_key }}"
    )
    save(page)
    written = draft_document(deployment, key, workflow_id)["steps"][0]
    assert written["id"] == "call"
    assert written["retry_intervals"] == [5]  # what cURL does not describe is kept
    assert written["auth"] == CANNED["step"]["auth"]
    assert "sk_test_123" not in json.dumps(written)


def test_paste_curl_through_the_server(page: Page, deployment: Deployment) -> None:
    key, workflow_id = _editor(page, deployment, "Curl Real")
    panel = open_step(page, "Step 1: call")
    panel.get_by_text("Paste cURL", exact=True).click()
    panel.get_by_label("cURL command").fill(
        "curl https://api.stripe.com/v1/charges \\\n  -u sk_test_4eC39HqLyjWDarjtT1zdp7dc: \\\n"
        "  -d amount=2000 -d currency=usd"
    )
    panel.get_by_role("button", name="Fill from cURL").click()
    expect(panel.locator(".curl-report")).to_contain_text("Filled from the cURL command.")
    expect(panel.locator(".curl-report li").first).to_contain_text(re.compile(r"^stripe\w*"))
    expect(panel.get_by_label("Body type")).to_have_value("form")
    save(page)
    written = draft_document(deployment, key, workflow_id)["steps"][0]
    assert written["url"] == "https://api.stripe.com/v1/charges"
    assert written["auth"]["type"] == "basic"
    assert "sk_test_4eC39HqLyjWDarjtT1zdp7dc" not in page.content()
    assert "sk_test_4eC39HqLyjWDarjtT1zdp7dc" not in json.dumps(written)


def test_a_curl_command_that_cannot_be_read_is_explained(
    page: Page, deployment: Deployment
) -> None:
    _editor(page, deployment, "Curl Bad")
    panel = open_step(page, "Step 1: call")
    panel.get_by_text("Paste cURL", exact=True).click()
    panel.get_by_label("cURL command").fill("curl 'https://api.example.com/unclosed")
    panel.get_by_role("button", name="Fill from cURL").click()
    alert = panel.locator(".curl-out").get_by_role("alert")
    expect(alert.locator(".what")).to_have_text("callout could not read this cURL command.")
    expect(alert.locator("details.technical")).to_contain_text("invalid_curl_command")
    expect(panel.get_by_label("URL", exact=True)).to_have_value(
        "https://api.example.com/v1/charges"
    )
