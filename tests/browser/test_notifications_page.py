"""The Notifications page: an endpoint is added (a bad URL refused beside its field), its
signing secret shown once with a copy button and gone after a reload; it is disabled and
deleted; the notifications sent are the system workflow's runs, one link away."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Dialog, Page, expect

from browser.conftest import Deployment, screenshot, sign_in


def _endpoints(deployment: Deployment, key: str) -> list[dict[str, Any]]:
    with deployment.api(key) as api:
        listed = api.get("/v1/notification-endpoints")
        assert listed.status_code == 200, listed.text
    return list(listed.json()["endpoints"])


def _add(page: Page, deployment: Deployment, key: str) -> str:
    """Add an endpoint through the form, a bad URL first; return the secret shown once."""
    form = page.get_by_role("form", name="Add endpoint")
    page.get_by_label("Name").fill("Ops channel")
    page.get_by_label("URL").fill("ftp://hooks.example.com/callout")
    form.get_by_role("button", name="Add endpoint").click()
    url_error = page.locator("#endpoint-url-error")
    expect(url_error).to_contain_text("https")
    expect(page.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("URL")).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text(
        "The endpoint was not added: 1 problem to fix, shown beside the fields."
    )
    assert _endpoints(deployment, key) == []

    page.get_by_label("URL").fill("https://hooks.example.com/callout")
    page.get_by_label("Host paused").check()
    page.get_by_label("Format").select_option(label="Slack-compatible")
    form.get_by_role("button", name="Add endpoint").click()

    card = page.get_by_role("region", name="Signing secret of Ops channel")
    expect(card).to_contain_text("Shown this once.")
    expect(card).to_contain_text("HMAC-SHA256")
    expect(url_error).to_be_hidden()
    secret = page.get_by_label("Signing secret", exact=True).input_value()
    assert len(secret) >= 20, secret
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    card.get_by_role("button", name="Copy").click()
    expect(card.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    return secret


def test_an_endpoint_is_added_with_its_secret_shown_once_then_disabled_and_deleted(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Notified Co", "growth")
    sign_in(page, deployment, key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications").click()
    page.wait_for_url("**/notifications")
    expect(page.locator(".empty")).to_contain_text("No endpoints yet")

    secret = _add(page, deployment, key)

    row = page.get_by_role("row", name="Ops channel")
    expect(row).to_contain_text("https://hooks.example.com/callout")
    expect(row).to_contain_text("Run failed, Host paused")
    expect(row).to_contain_text("Slack-compatible")
    enabled = row.get_by_label("Enabled")
    expect(enabled).to_be_checked()
    (endpoint,) = _endpoints(deployment, key)
    assert endpoint["events"] == ["run.failed", "host.paused"]
    assert endpoint["format"] == "slack"
    assert secret not in str(endpoint)
    runs = page.get_by_role("link", name="see the notifications sent")
    expect(runs).to_have_attribute("href", f"/runs?workflow_id={endpoint['workflow_id']}")
    screenshot(page, "notifications-secret")

    # Shown once: a reload brings the endpoint back, never its secret.
    page.reload()
    expect(page.get_by_role("row", name="Ops channel")).to_be_visible()
    expect(page.get_by_role("region", name="Signing secret of Ops channel")).to_have_count(0)
    assert secret not in page.content()

    row = page.get_by_role("row", name="Ops channel")
    row.get_by_label("Enabled").uncheck()
    expect(page.get_by_role("status").filter(has_text="disabled")).to_contain_text(
        "Ops channel is disabled: it is told of nothing until it is enabled again."
    )
    assert _endpoints(deployment, key)[0]["enabled"] is False
    page.reload()
    expect(page.get_by_role("row", name="Ops channel").get_by_label("Enabled")).not_to_be_checked()

    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Delete Ops channel").click()
    expect(page.locator(".empty")).to_contain_text("No endpoints yet")
    assert len(dialogs) == 1, dialogs
    assert dialogs[0].startswith("Delete the endpoint Ops channel?"), dialogs
    assert _endpoints(deployment, key) == []


def test_the_notifications_page_reads_as_cards_at_400px(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Narrow Notifications", "growth")
    with deployment.api(key) as api:
        made = api.post(
            "/v1/notification-endpoints",
            json={
                "name": "Incidents",
                "url": "https://hooks.example.com/a/rather/long/path/for/incidents",
                "events": ["run.failed", "run.completed", "step.errored", "host.paused"],
            },
        )
        assert made.status_code == 201, made.text
    page.set_viewport_size({"width": 400, "height": 800})
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/notifications")

    row = page.get_by_role("row", name="Incidents")
    expect(row).to_contain_text("callout JSON")
    for element in (
        row,
        row.get_by_label("Enabled"),
        row.get_by_role("button", name="Delete Incidents"),
    ):
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= 400, box
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " window: document.documentElement.clientWidth})"
    )
    assert widths["page"] <= widths["window"], widths
    screenshot(page, "notifications-400")
