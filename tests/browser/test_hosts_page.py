"""The Hosts page: a host paused by its circuit breaker shows when it is probed next, and
Resume now sends to it again; a run held back for it says why on its page; limits are added,
refused with the server's problem beside its field, edited and removed; the page reads at
400 px.

The paused host is made the way it happens: a limit row pausing 127.0.0.1 (the receiver)
after 1 failure, and a run answered 503 by the receiver.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Dialog, Locator, Page, expect

from browser.conftest import Deployment, screenshot, sign_in, wait_for
from browser.published import finished_run, publish, request_step, start_run

HOST = "127.0.0.1"
"""The receiver's host, as delivery control keys it (no port)."""


def _limit(deployment: Deployment, key: str, host: str, **fields: Any) -> None:
    with deployment.api(key) as api:
        saved = api.put(f"/v1/host-limits/{host}", json=fields)
        assert saved.status_code == 200, saved.text


def _limits(deployment: Deployment, key: str) -> dict[str, dict[str, Any]]:
    with deployment.api(key) as api:
        rows = api.get("/v1/host-limits").json()["host_limits"]
    return {row["host"]: row for row in rows}


def _host(deployment: Deployment, key: str) -> dict[str, Any]:
    with deployment.api(key) as api:
        hosts = api.get("/v1/hosts").json()["hosts"]
    return next(h for h in hosts if h["host"] == HOST)


def _paused_host(deployment: Deployment, key: str) -> None:
    """Pause the receiver's host for ten minutes: one failed attempt opens its breaker."""
    _limit(deployment, key, HOST, breaker_failures=1, breaker_pause_seconds=600)
    failing = publish(
        deployment, key, "Always 503", request_step("call", f"{deployment.receiver_url}/status/503")
    )
    assert finished_run(deployment, key, start_run(deployment, key, failing))["status"] == "failed"
    assert _host(deployment, key)["breaker"] == "open"


def _accept(dialogs: list[str]) -> Callable[[Dialog], None]:
    """Accept each dialog, keeping its message in `dialogs`."""

    def answer(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    return answer


def _host_row(page: Page) -> Locator:
    return page.locator(f'tr[data-host="{HOST}"]')


def test_a_paused_host_shows_its_next_probe_and_resume_now_sends_to_it_again(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Paused Host Co", "growth")
    _paused_host(deployment, key)
    healthy = publish(
        deployment, key, "Fine now", request_step("ping", f"{deployment.receiver_url}/status/200")
    )
    held = start_run(deployment, key, healthy)
    wait_for(lambda: _host(deployment, key)["waiting"] == 1, "the run held back for the host")
    sign_in(page, deployment, key)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Hosts").click()
    page.wait_for_url("**/hosts")
    row = _host_row(page)
    expect(row).to_contain_text(
        re.compile(r"Paused — next probe at \d{1,2}:\d{2}:\d{2}(\s[AP]M)? \(in (10 min|\d+ s)\)")
    )
    expect(row).to_contain_text(
        "The server answered HTTP 503 (Service Unavailable): a problem on its side."
    )
    expect(row.get_by_role("cell", name="1 step")).to_be_visible()
    expect(row).to_contain_text("0 (no limit)")
    screenshot(page, "hosts-paused")

    dialogs: list[str] = []
    page.once("dialog", _accept(dialogs))
    row.get_by_role("button", name=f"Resume {HOST} now").click()
    expect(row).to_contain_text("Sending")
    expect(row.get_by_role("button", name=re.compile("^Resume"))).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="resumed")).to_contain_text(
        f"{HOST} resumed: attempts to it are sent now."
    )
    assert len(dialogs) == 1, dialogs
    assert dialogs[0].startswith(f"Resume {HOST} now?"), dialogs
    # The run that waited is sent at once, and the host stays open for business.
    assert finished_run(deployment, key, held)["status"] == "completed"
    assert _host(deployment, key)["breaker"] == "closed"
    expect(row).to_contain_text("Sending")


def test_a_run_held_back_for_a_paused_host_says_why_on_its_page(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Held Run Co", "growth")
    _paused_host(deployment, key)
    healthy = publish(
        deployment, key, "Fine later", request_step("ping", f"{deployment.receiver_url}/status/200")
    )
    held = start_run(deployment, key, healthy)
    wait_for(lambda: _host(deployment, key)["waiting"] == 1, "the run held back for the host")
    sign_in(page, deployment, key)

    page.goto(f"{deployment.base_url}/runs/{held}")
    step = page.get_by_role("region", name="Step 1: ping")
    # The step's wait_reason, its time (UTC in the API) said in the reader's own clock.
    expect(step.locator(".wait-reason")).to_contain_text(
        re.compile(
            rf"^Waiting: {re.escape(HOST)} is paused after 1 failed attempt in a row; "
            r"next probe at \d{1,2}:\d{2}:\d{2}(\s[AP]M)? \(a wait is not an attempt"
        )
    )
    expect(step).not_to_contain_text("not started")
    expect(step).not_to_contain_text("Z (")
    screenshot(page, "run-held-back")


def _refused_beside_their_fields(page: Page) -> None:
    """A limit of 0 in flight, and a burst without a rate: both said beside their fields."""
    page.get_by_label("Host", exact=True).fill("api.example.com")
    page.get_by_label("Max in flight").fill("0")
    page.get_by_label("Burst").fill("3")
    page.get_by_role("button", name="Save limit").click()
    expect(page.locator("#limit-max-in-flight-error")).to_have_text(
        "Must be 1 to 10000 requests, not 0."
    )
    expect(page.locator("#limit-burst-error")).to_have_text(
        re.compile(r"^Needs a rate: .*\(set Rate per second too, or leave the burst out\)\.$")
    )
    expect(page.get_by_label("Max in flight")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Max in flight")).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text(
        "The limit was not saved: 2 problems to fix, shown beside the fields."
    )


def test_limits_are_added_refused_beside_their_field_edited_and_removed(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Limits Co", "growth")
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/hosts")

    empty = page.locator(".empty")
    expect(empty).to_contain_text("No hosts to show yet")
    expect(empty).to_contain_text("callout pauses the host")
    expect(empty).to_contain_text("A limit caps the requests in flight")
    form = page.get_by_role("form", name="Add a limit")
    expect(form).to_contain_text("* is every other host")

    _refused_beside_their_fields(page)
    assert _limits(deployment, key) == {}

    page.get_by_label("Max in flight").fill("5")
    page.get_by_label("Rate per second").fill("2.5")
    form.get_by_role("button", name="Save limit").click()
    limit_row = page.locator('tr[data-limit="api.example.com"]')
    expect(limit_row).to_contain_text("2.5")
    expect(page.locator("#limit-max-in-flight-error")).to_be_hidden()
    saved = _limits(deployment, key)["api.example.com"]
    assert (saved["max_in_flight"], saved["rate_per_second"], saved["burst"]) == (5, 2.5, 3)
    # A host with a limit of its own is listed among the hosts, sending.
    expect(page.locator('tr[data-host="api.example.com"]')).to_contain_text("0 / 5")

    page.get_by_label("Host", exact=True).fill("*")
    page.get_by_label("Breaker failures").fill("3")
    form.get_by_role("button", name="Save limit").click()
    expect(page.locator('tr[data-limit="*"]')).to_contain_text("* (every other host)")
    assert _limits(deployment, key)["*"]["breaker_failures"] == 3

    limit_row.get_by_role("button", name="Edit the limit of api.example.com").click()
    edit = page.get_by_role("form", name="Edit the limit of api.example.com")
    expect(page.get_by_label("Max in flight")).to_be_focused()
    expect(page.get_by_label("Host", exact=True)).to_have_value("api.example.com")
    page.get_by_label("Max in flight").fill("10")
    edit.get_by_role("button", name="Save limit").click()
    expect(page.locator('tr[data-host="api.example.com"]')).to_contain_text("0 / 10")
    assert _limits(deployment, key)["api.example.com"]["max_in_flight"] == 10
    screenshot(page, "hosts-limits")

    dialogs: list[str] = []
    page.once("dialog", _accept(dialogs))
    limit_row.get_by_role("button", name="Remove the limit of api.example.com").click()
    expect(limit_row).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="removed")).to_contain_text(
        "The limit of api.example.com was removed."
    )
    assert len(dialogs) == 1, dialogs
    assert dialogs[0].startswith("Remove the limit of api.example.com?"), dialogs
    assert set(_limits(deployment, key)) == {"*"}


def test_the_hosts_page_reads_as_cards_at_400px(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Narrow Hosts", "growth")
    _paused_host(deployment, key)
    _limit(deployment, key, "*", max_in_flight=4, rate_per_second=10, burst=5)
    page.set_viewport_size({"width": 400, "height": 800})
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/hosts")

    row = _host_row(page)
    expect(row).to_contain_text("Paused")
    resume = row.get_by_role("button", name=f"Resume {HOST} now")
    for element in (
        row,
        resume,
        page.locator('tr[data-limit="*"]'),
        page.get_by_label("Pause (seconds)"),
    ):
        element.scroll_into_view_if_needed()
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= 400, box
    expect(row.locator(".cell-label").first).to_be_visible()
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " window: document.documentElement.clientWidth})"
    )
    assert widths["page"] <= widths["window"], widths
    screenshot(page, "hosts-400")
