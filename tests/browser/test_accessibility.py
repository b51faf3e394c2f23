"""Every dashboard page passes axe-core with no serious or critical violation.

The page fixture audits every page the browser tests open (`accessibility.py`); this
walk opens each page, and the states within pages (a dialog, a panel, a result),
at 1280x800 and at 400x800, and audits each explicitly.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from browser.accessibility import AccessibilityWatch, assert_accessible, audit, wait_for_watch
from browser.conftest import Deployment, sign_in, wait_for


def _failed_run(deployment: Deployment, key: str) -> tuple[str, str]:
    """Publish a workflow whose step answers 500 after one retry; start a run; return ids."""
    with deployment.api(key) as api:
        created = api.post(
            "/v1/workflows",
            json={
                "document": {
                    "name": "Audited",
                    "trigger": {},
                    "steps": [
                        {
                            "id": "notify",
                            "action": "make_https_request",
                            "url": f"{deployment.receiver_url}/status/500",
                            "retry_intervals": [1],
                        }
                    ],
                }
            },
        )
        assert created.status_code == 201, created.text
        workflow_id = str(created.json()["workflow"]["id"])
        assert api.post(f"/v1/workflows/{workflow_id}/publish").status_code == 200
        run = api.post(f"/v1/workflows/{workflow_id}/trigger", json={})
        assert run.status_code == 202, run.text
    return workflow_id, str(run.json()["run_id"])


@pytest.mark.parametrize("width", [1280, 400])
def test_every_page_passes_axe_with_no_serious_or_critical_violation(
    page: Page, deployment: Deployment, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    key = deployment.org(f"Audit {width}", "growth")
    page.goto(f"{deployment.base_url}/sign-in")
    assert_accessible(page)
    page.get_by_label("API key").fill("callout_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)  # the refused sign-in, with its error

    sign_in(page, deployment, key)
    expect(page.get_by_role("heading", name="All Workflows")).to_be_visible()
    assert_accessible(page)  # no workflows yet
    page.goto(f"{deployment.base_url}/runs")
    expect(page.get_by_role("heading", name=re.compile("No runs"))).to_be_visible()
    assert_accessible(page)
    page.goto(f"{deployment.base_url}/secrets")
    expect(page.get_by_role("heading", name="Secrets", exact=True)).to_be_visible()
    assert_accessible(page)

    workflow_id, run_id = _failed_run(deployment, key)
    page.goto(f"{deployment.base_url}/workflows")
    expect(page.get_by_role("link", name="Audited")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{deployment.base_url}/workflows/{workflow_id}")
    step = page.get_by_role("button", name="Step 1: notify")
    expect(step).to_be_visible()
    assert_accessible(page)
    step.click()
    expect(page.get_by_role("textbox", name="URL")).to_be_visible()
    assert_accessible(page)  # the step panel
    page.get_by_role("button", name="Add a step at position 1").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_accessible(page)  # Find Action
    page.keyboard.press("Escape")

    page.goto(f"{deployment.base_url}/runs/{run_id}")
    expect(page.locator(".page-header .badge")).to_have_text(re.compile("failed"), timeout=15000)
    assert_accessible(page)
    page.goto(f"{deployment.base_url}/runs")
    expect(page.get_by_role("link", name=run_id)).to_be_visible()
    assert_accessible(page)


def test_the_audit_finds_a_violation_the_tests_did_not_ask_about(
    browser: Browser, page: Page, deployment: Deployment
) -> None:
    # An explicit audit: a button with no name is a critical violation.
    page.goto(f"{deployment.base_url}/sign-in")
    # The page's own watch audits it once; let it finish first, or on a slow machine it
    # audits the page while the test's button is in it.
    wait_for_watch(page)
    page.evaluate("() => document.querySelector('main').append(document.createElement('button'))")
    [finding] = audit(page)
    assert (finding.rule, finding.impact) == ("button-name", "critical")
    page.evaluate("() => document.querySelector('main > button:last-child').remove()")

    # The watch: every page is audited once rendered, with no call from the test.
    context = browser.new_context()
    try:
        watch = AccessibilityWatch()
        watch.install(context)
        context.add_init_script(
            script="document.addEventListener('DOMContentLoaded', () => "
            "document.body.append(document.createElement('button')))"
        )
        unwatched = context.new_page()
        unwatched.goto(f"{deployment.base_url}/sign-in")

        def reported() -> bool:
            # Playwright's sync API delivers the page's report while it is called.
            unwatched.wait_for_timeout(50)
            return bool(watch.findings)

        wait_for(reported, "the watch's audit of the page")
        assert [f.rule for f in watch.findings] == ["button-name"]
        assert watch.findings[0].url == f"{deployment.base_url}/sign-in"
    finally:
        context.close()
