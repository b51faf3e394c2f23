"""The workflow list and the editor show each workflow's last 24 hours of runs and its
failure rate, drawn as SVG that screen readers can read; the list asks for all in one call."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Request, expect

from browser.accessibility import assert_accessible
from browser.conftest import Deployment, screenshot, sign_in
from browser.published import finished_run, publish, request_step, start_run


def _runs(deployment: Deployment, key: str) -> tuple[str, str]:
    """A workflow with 2 completed and 1 failed run this hour, and one with none."""
    busy = publish(
        deployment,
        key,
        "Busy",
        request_step("call", f"{deployment.receiver_url}/status/{{{{ trigger.code }}}}"),
    )
    quiet = publish(deployment, key, "Quiet", request_step("call", f"{deployment.receiver_url}/x"))
    for code in (200, 500, 201):
        finished_run(deployment, key, start_run(deployment, key, busy, {"code": code}))
    return busy, quiet


def test_the_workflow_list_charts_each_workflows_last_day_from_one_call(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Charted", "growth")
    _runs(deployment, key)
    asked: list[str] = []

    def seen(request: Request) -> None:
        if "/v1/" in request.url and "activity" in request.url:
            asked.append(request.url.removeprefix(deployment.base_url))

    page.on("request", seen)
    sign_in(page, deployment, key)
    busy_row = page.get_by_role("row", name=re.compile("^Busy"))
    quiet_row = page.get_by_role("row", name=re.compile("^Quiet"))
    chart = busy_row.locator("svg.activity-svg")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator("title").first).to_have_text("Runs per hour, last 24 hours")
    expect(chart.locator("desc")).to_have_text(
        re.compile(r"^Last 24 hours: 2 runs completed, 1 failed\. Failure rate 33%\.")
    )
    expect(busy_row.locator(".activity-rate")).to_have_text("33% failed (1 of 3)")
    # One bar an hour, the current hour last; the runs (made just now) are in the last one
    # or two (when the clock passed an hour meanwhile): 2 completed, 1 failed.
    hours = chart.locator("g.hour")
    expect(hours).to_have_count(24)
    said = hours.locator("title").all_text_contents()
    counted = [re.search(r": (\d+) completed, (\d+) failed$", words) for words in said]
    assert all(found is not None for found in counted), said
    per_hour = [(int(found[1]), int(found[2])) for found in counted if found is not None]
    assert (sum(c for c, _ in per_hour), sum(f for _, f in per_hour)) == (2, 1)
    assert all(hour == (0, 0) for hour in per_hour[:-2])
    expect(chart.locator("g.hour rect.completed").first).to_be_visible()
    expect(chart.locator("g.hour rect.failed").first).to_be_visible()
    expect(quiet_row.locator(".activity-rate")).to_have_text("no runs in 24 h")
    expect(quiet_row.locator("svg.activity-svg desc")).to_have_text("No runs in the last 24 hours.")
    assert asked == ["/v1/workflow-activity?hours=24"]  # one call for the whole list
    assert_accessible(page)
    screenshot(page, "workflows-activity")


def test_the_editor_shows_the_workflows_last_day_with_a_table(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Charted Editor", "growth")
    busy, _ = _runs(deployment, key)
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/workflows/{busy}")
    card = page.get_by_role("region", name="Runs in the last 24 hours")
    expect(card.locator(".activity-rate")).to_have_text("33% failed (1 of 3)")
    expect(card.locator("svg.activity-svg")).to_be_visible()
    expect(card).to_contain_text("now")
    card.get_by_text("Runs per hour as a table").click()
    rows = card.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td")).to_have_text(["2", "1", "0", "0"])
    expect(card.get_by_role("link", name="See its runs")).to_have_attribute(
        "href", f"/runs?workflow_id={busy}"
    )
    # The editor redraws itself as it is used; the card stays, fetched once.
    page.get_by_role("button", name="Step 1: call").click()
    expect(card.locator(".activity-rate")).to_have_text("33% failed (1 of 3)")
    assert_accessible(page)


def test_the_editor_card_of_a_workflow_without_runs_shows_only_the_empty_chart_and_words(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Charted Quiet", "growth")
    quiet = publish(deployment, key, "Quiet", request_step("call", f"{deployment.receiver_url}/x"))
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/workflows/{quiet}")
    card = page.get_by_role("region", name="Runs in the last 24 hours")
    expect(card.locator(".activity-rate")).to_have_text("no runs yet")
    plot = card.locator(".activity-plot")
    expect(plot.locator("svg.activity-svg")).to_be_visible()
    expect(plot).to_contain_text("Last 24 hours: 0 runs completed, 0 failed.")
    # The chart, then its words: no table (nothing to list), and no stray text such as "null".
    children = plot.evaluate(
        "p => [...p.childNodes].map((n) => n.nodeType === 1 ? n.localName : n.textContent)"
    )
    assert children == ["svg", "p"], children
    expect(plot).not_to_contain_text("null")
    expect(card.get_by_text("Runs per hour as a table")).to_have_count(0)
