"""The Organization page: the plan, and retention set with the server's problems beside their
fields; a run whose bodies retention removed says so, and Resume on it says why it cannot."""

from __future__ import annotations

import re
import subprocess

from playwright.sync_api import Page, expect

from browser.conftest import Deployment, screenshot, sign_in, wait_for
from browser.published import finished_run, publish, request_step, start_run


def _retention(deployment: Deployment, key: str) -> tuple[int, int | None]:
    with deployment.api(key) as api:
        organization = api.get("/v1/organization").json()
    return organization["retention_days"], organization["body_retention_days"]


def test_an_operator_sees_the_plan_and_sets_retention_with_problems_beside_their_fields(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Settings Co", "growth")
    sign_in(page, deployment, key)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organization").click()
    page.wait_for_url("**/organization")

    plan = page.get_by_role("region", name="Plan")
    expect(plan).to_contain_text("growth")
    expect(plan).to_contain_text("Settings Co")
    expect(plan).to_contain_text("Actions it includes: Make HTTPS Request.")
    form = page.get_by_role("form", name="Retention")
    expect(form).to_contain_text(
        "Finished runs are kept 30 days, their bodies as long as the runs."
    )
    expect(form).to_contain_text("Pruning runs every 10 minutes")
    expect(form).to_contain_text("Idempotency keys of trigger calls expire after 24 hours")
    runs = page.get_by_label("Keep finished runs for (days)")
    bodies = page.get_by_label("Keep bodies for (days)")
    same = page.get_by_label("Keep bodies as long as the runs")
    expect(runs).to_have_value("30")
    expect(same).to_be_checked()
    expect(bodies).to_be_disabled()

    # Both problems at once, each beside its field, in plain words; nothing saved.
    runs.fill("0")
    same.uncheck()
    bodies.fill("-1")
    form.get_by_role("button", name="Save retention").click()
    runs_error = page.locator("#retention-days-error")
    bodies_error = page.locator("#body-days-error")
    expect(runs_error).to_have_text("Must be at least 1 day.")
    expect(bodies_error).to_have_text("Must be at least 0 days.")
    expect(runs).to_have_attribute("aria-invalid", "true")
    expect(bodies).to_have_attribute("aria-invalid", "true")
    expect(runs).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text(
        "Nothing was saved: 2 problems to fix, shown beside the fields."
    )
    screenshot(page, "organization-retention-problems")

    # The server's own rule (bodies at most as long as the runs), said beside its field.
    runs.fill("10")
    bodies.fill("20")
    form.get_by_role("button", name="Save retention").click()
    expect(bodies_error).to_have_text(
        re.compile(r"^This is 20 days, longer than the runs are kept \(10 days\)")
    )
    expect(runs_error).to_be_hidden()
    expect(runs).to_have_attribute("aria-invalid", "false")
    assert _retention(deployment, key) == (30, None)

    runs.fill("90")
    bodies.fill("7")
    form.get_by_role("button", name="Save retention").click()
    expect(page.get_by_role("status").filter(has_text="Retention saved.")).to_contain_text(
        "Finished runs are kept 90 days, their bodies 7 days, then only the runs' records."
    )
    assert _retention(deployment, key) == (90, 7)
    page.reload()
    expect(page.get_by_label("Keep finished runs for (days)")).to_have_value("90")
    expect(page.get_by_label("Keep bodies for (days)")).to_have_value("7")
    expect(page.get_by_label("Keep bodies as long as the runs")).not_to_be_checked()
    screenshot(page, "organization-settings")


def test_the_organization_page_fits_a_narrow_window(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Narrow Settings", "growth")
    page.set_viewport_size({"width": 400, "height": 800})
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/organization")

    expect(page.get_by_role("button", name="Save retention")).to_be_visible()
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " window: document.documentElement.clientWidth})"
    )
    assert widths["page"] <= widths["window"], widths
    screenshot(page, "organization-settings-narrow")


def _pruned(deployment: Deployment) -> bool:
    """Run one pass now (refused while the service's worker holds the lease: try again)."""
    try:
        deployment.callout("db", "prune")
    except subprocess.CalledProcessError:
        return False
    return True


def test_a_run_whose_bodies_were_removed_says_so_and_resume_says_why_not(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Pruned Co", "growth")
    workflow_id = publish(
        deployment,
        key,
        "Always 500",
        request_step("notify", f"{deployment.receiver_url}/status/500"),
    )
    run_id = start_run(deployment, key, workflow_id, {"email": "ada@example.com"})
    assert finished_run(deployment, key, run_id)["status"] == "failed"
    with deployment.api(key) as api:
        assert api.patch("/v1/organization", json={"body_retention_days": 0}).status_code == 200
    wait_for(lambda: _pruned(deployment), "a prune pass")
    sign_in(page, deployment, key)

    page.goto(f"{deployment.base_url}/runs/{run_id}")

    note = page.locator("#bodies-removed")
    expect(note).to_contain_text("This run's bodies were removed by retention on")
    expect(note).to_contain_text("and it cannot be resumed.")
    expect(page.locator(".run-why")).not_to_contain_text("then Resume")
    expect(note.get_by_role("link", name="Retention settings")).to_have_attribute(
        "href", "/organization"
    )
    page.get_by_text("Trigger payload", exact=True).click()
    expect(page.get_by_text("(removed by retention)").first).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    refusal = page.get_by_role("alert").filter(has_text="cannot be resumed")
    expect(refusal).to_contain_text(
        f"Run {run_id} cannot be resumed: retention removed its bodies (its trigger payload "
        "and step outputs), which its remaining steps would read."
    )
    expect(refusal).to_contain_text("Start a new run of the workflow instead.")
    expect(page.locator(".page-header .badge")).to_have_text("failed")
    screenshot(page, "run-bodies-removed")
