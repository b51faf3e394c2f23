"""A run in progress updates live; server errors land on their field; secrets are managed."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Response, expect

from browser.conftest import Deployment, sign_in


def _published(deployment: Deployment, key: str, step: dict[str, object]) -> str:
    with deployment.api(key) as api:
        created = api.post(
            "/v1/workflows",
            json={"document": {"name": "Live", "trigger": {}, "steps": [step]}},
        )
        assert created.status_code == 201, created.text
        workflow_id = str(created.json()["workflow"]["id"])
        published = api.post(f"/v1/workflows/{workflow_id}/publish")
        assert published.status_code == 200, published.text
    return workflow_id


def test_a_run_in_progress_updates_without_a_reload(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Live Updates", "growth")
    # /flaky/1 answers 503 (Retry-After: 1) once per idempotency key, then 200.
    workflow_id = _published(
        deployment,
        key,
        {
            "id": "flaky",
            "action": "make_https_request",
            "url": f"{deployment.receiver_url}/flaky/1/things",
            "retry_intervals": [2],
        },
    )
    sign_in(page, deployment, key)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    with deployment.api(key) as api:
        run_id = api.post(f"/v1/workflows/{workflow_id}/trigger", json={}).json()["run_id"]
    page.goto(f"{deployment.base_url}/runs/{run_id}")
    step = page.get_by_role("region", name="Step 1: flaky")
    expect(step).to_have_attribute("data-status", "waiting", timeout=10000)
    expect(step).to_contain_text(re.compile(r"next attempt in \d+ s"))
    expect(step.locator(".attempt").first).to_contain_text("HTTP 503")
    expect(step).to_have_attribute("data-status", "succeeded", timeout=15000)
    expect(step).to_contain_text("Attempt 2")
    expect(page.locator(".page-header .badge")).to_have_text("completed")
    assert navigations == [f"{deployment.base_url}/runs/{run_id}"]  # one load, no reload


def test_a_waiting_run_is_polled_with_its_etag_and_not_downloaded_again(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Polling", "growth")
    # /flaky/1 answers 503 once per idempotency key: the step then waits a minute.
    workflow_id = _published(
        deployment,
        key,
        {
            "id": "patient",
            "action": "make_https_request",
            "url": f"{deployment.receiver_url}/flaky/1/things",
            "retry_intervals": [60],
        },
    )
    sign_in(page, deployment, key)
    with deployment.api(key) as api:
        run_id = api.post(f"/v1/workflows/{workflow_id}/trigger", json={}).json()["run_id"]
    answers: list[tuple[int, bool]] = []  # status, whether If-None-Match was sent

    def seen(response: Response) -> None:
        if response.url.endswith(f"/v1/runs/{run_id}"):
            answers.append((response.status, "if-none-match" in response.request.headers))

    page.on("response", seen)
    page.goto(f"{deployment.base_url}/runs/{run_id}")
    step = page.get_by_role("region", name="Step 1: patient")
    expect(step).to_have_attribute("data-status", "waiting", timeout=10000)
    countdown = step.get_by_text(re.compile(r"next attempt in \d+ s")).first
    before = countdown.inner_text()
    # Two more polls of the waiting run (one a second), each answered 304.
    for _ in range(2):
        with page.expect_response(
            lambda response: response.url.endswith(f"/v1/runs/{run_id}") and response.status == 304,
            timeout=15000,
        ):
            pass
    # Drawn again from the copy in hand: the countdown moves on without a download.
    expect(countdown).not_to_have_text(before)
    # Each poll names the view in hand; while the step waits, the answer is 304 (no body).
    assert answers[0] == (200, False), answers
    assert all(conditional for _, conditional in answers[1:]), answers
    unchanged = [status for status, _ in answers if status == 304]
    assert len(unchanged) >= 2, answers
    assert answers[-1][0] == 304, answers
    with deployment.api(key) as api:
        assert api.post(f"/v1/runs/{run_id}/cancel").status_code == 200


def test_errors_from_the_server_show_on_their_field(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Field Errors", "growth")
    with deployment.api(key) as api:
        created = api.post(
            "/v1/workflows",
            json={
                "document": {
                    "name": "Broken",
                    "trigger": {},
                    "steps": [
                        {
                            "id": "call",
                            "action": "make_https_request",
                            "url": "ftp://files.example.com/x",
                            "timeout": 900,
                        }
                    ],
                }
            },
        ).json()
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/workflows/{created['workflow']['id']}")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("alert")).to_contain_text("problem")
    expect(page.locator(".step-node .badge")).to_have_text("2 problems")
    page.get_by_role("button", name="Step 1: call").click()
    panel = page.get_by_role("complementary", name="Make HTTPS Request")
    url = panel.get_by_label("URL", exact=True)
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(panel.locator("#step-url-error")).to_contain_text("https")
    panel.get_by_text("Advanced Configuration").click()
    expect(panel.get_by_label("Request Timeout (seconds)")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(panel.locator("#step-timeout-error")).to_contain_text("300")


def test_secrets_are_added_rotated_and_deleted_and_never_shown(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Secret Keepers", "growth")
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/secrets")
    expect(page.get_by_text("No secrets yet")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("api_token")
    page.get_by_label("Value", exact=True).fill("first-value-7f3a")
    page.get_by_role("button", name="Add secret").click()
    expect(page.get_by_text("Secret api_token stored")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("api_token"))
    expect(row.first).to_contain_text("v1")

    page.get_by_role("button", name="Rotate api_token").click()
    page.get_by_label("New value for api_token").fill("second-value-9c1d")
    page.get_by_label("Old value keeps signing for (hours)").fill("2")
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.get_by_text("Secret api_token rotated.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("api_token")).first).to_contain_text("v2")
    expect(page.get_by_role("row", name=re.compile("api_token")).first).to_contain_text("until")
    html = page.content()
    assert "first-value-7f3a" not in html
    assert "second-value-9c1d" not in html

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete api_token").click()
    expect(page.get_by_text("Secret api_token deleted.")).to_be_visible()
    expect(page.get_by_text("No secrets yet")).to_be_visible()
