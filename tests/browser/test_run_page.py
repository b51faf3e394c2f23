"""The run page: attempts stay inside their step card, failures read in plain words, and a
timeline shows each attempt, the waits between them and the server's Retry-After."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.accessibility import assert_accessible
from browser.conftest import Deployment, screenshot, sign_in
from browser.published import finished_run, publish, request_step, start_run

TEXT_COLOUR = "rgb(27, 31, 36)"  # --text in app.css


def test_an_opened_attempt_stays_inside_its_step_card_in_the_page_colours(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Spill Co", "growth")
    long_value = "v1=" + "0123456789abcdef" * 24  # as long as a signature header, no spaces
    workflow_id = publish(
        deployment,
        key,
        "Long headers",
        request_step(
            "signed",
            f"{deployment.receiver_url}/echo",
            method="POST",
            body={"hello": "world"},
            headers=[{"key": "X-Long-Signature", "value": long_value}],
        ),
    )
    run_id = start_run(deployment, key, workflow_id)
    finished_run(deployment, key, run_id)
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs/{run_id}")
    step = page.get_by_role("region", name="Step 1: signed")
    expect(step).to_have_attribute("data-status", "succeeded")
    step.get_by_text(re.compile("^Request: POST")).click()
    step.get_by_text(re.compile("^Response: 200")).click()
    expect(step.get_by_text("X-Long-Signature")).to_be_visible()

    card = step.bounding_box()
    attempt = step.locator(".attempt").first.bounding_box()
    assert card is not None
    assert attempt is not None
    assert attempt["x"] + attempt["width"] <= card["x"] + card["width"], (attempt, card)
    widest = step.evaluate("element => element.scrollWidth - element.clientWidth")
    assert widest <= 0  # nothing inside scrolls the card sideways
    for text in (step.locator(".attempt-line strong").first, step.locator(".node-title")):
        assert text.evaluate("element => getComputedStyle(element).color") == TEXT_COLOUR
    assert step.evaluate("element => getComputedStyle(element).backgroundColor") == (
        "rgb(255, 255, 255)"
    )
    screenshot(page, "run-opened-attempt")


def test_a_failure_reads_in_plain_words_with_the_detail_one_click_away(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Plain Words", "growth")
    workflow_id = publish(
        deployment,
        key,
        "Always 500",
        request_step("notify", f"{deployment.receiver_url}/status/500", retry_intervals=[1]),
    )
    run_id = start_run(deployment, key, workflow_id)
    finished_run(deployment, key, run_id)
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs/{run_id}")

    step = page.get_by_role("region", name="Step 1: notify")
    expect(step).to_have_attribute("data-status", "errored")
    said = step.locator(".step-error")
    expect(said).to_have_text(
        re.compile(
            r"^The server answered HTTP 500 \(Internal Server Error\): a problem on its side\. "
            r"No retry was left, so the step stopped\. Check the server's logs, then resume "
            r"the run\.$"
        )
    )
    for plain in step.locator(".error-text").all():  # the code words are folded away
        expect(plain).not_to_contain_text("http_status")
    first, second = step.locator(".attempt").all()
    expect(first.locator(".error-text")).to_contain_text(
        re.compile(
            r"The server answered HTTP 500 \(Internal Server Error\): a problem on its side\. "
            r"callout retried at "
        )
    )
    detail = second.locator("details.technical")
    expect(detail.locator("code")).to_be_hidden()
    detail.get_by_text("Technical detail").click()
    expect(detail.locator("code")).to_have_text("http_status")
    expect(detail).to_contain_text("the server answered 500")

    # The three words, and why they differ.
    expect(page.locator(".run-why")).to_contain_text(
        "This run failed because step notify errored (all 2 of its attempts failed)"
    )
    for badge, meaning in (
        (page.locator(".page-header .badge"), "one of its steps errored"),
        (step.locator(".run-step-head .badge"), "no retry was left"),
        (first.locator(".attempt-line .badge"), "The step may try again"),
    ):
        expect(badge).to_have_attribute("title", re.compile(meaning))
    legend = page.locator("details.legend")
    legend.get_by_text("Failed, errored, failed: what the words mean").click()
    expect(legend).to_contain_text(
        "the attempts failed, then the step errored (no retry left), so the run failed"
    )
    # Opened details stay open across the page's redraws (the run is finished: none now).
    assert_accessible(page)
    screenshot(page, "run-plain-words")


def test_a_waiting_step_says_when_callout_will_retry_and_a_timeout_says_so(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Retry Words", "growth")
    waiting = publish(
        deployment,
        key,
        "Waits",
        request_step("busy", f"{deployment.receiver_url}/flaky/1/x", retry_intervals=[600]),
    )
    slow = publish(
        deployment,
        key,
        "Slow",
        request_step("slow", f"{deployment.receiver_url}/delay/5", timeout=1),
    )
    waiting_run = start_run(deployment, key, waiting)
    slow_run = start_run(deployment, key, slow)
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs/{waiting_run}")
    step = page.get_by_role("region", name="Step 1: busy")
    expect(step).to_have_attribute("data-status", "waiting", timeout=15000)
    expect(step.locator(".attempt .error-text")).to_have_text(
        re.compile(
            r"^The server answered HTTP 503 \(Service Unavailable\): a problem on its side\. "
            r"callout will retry at "
        )
    )
    expect(step.locator(".attempt")).to_contain_text("the server asked for 1 s (Retry-After)")

    finished_run(deployment, key, slow_run)
    page.goto(f"{deployment.base_url}/runs/{slow_run}")
    step = page.get_by_role("region", name="Step 1: slow")
    expect(step.locator(".step-error")).to_contain_text(
        "The server did not answer within the step's timeout."
    )
    expect(step.locator(".attempt-line")).to_contain_text(re.compile(r"timed out after \d+ ms"))
    bar = page.locator(".tl-attempt").first
    expect(bar).to_have_class(re.compile("timed-out"))
    expect(bar).to_have_attribute("aria-label", re.compile(r"timed out after"))


def test_the_timeline_shows_attempts_the_wait_and_retry_after_on_hover_and_focus(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Timeline Co", "growth")
    # /flaky/1 answers 503 with Retry-After: 1 once per Idempotency-Key, then 200.
    workflow_id = publish(
        deployment,
        key,
        "Flaky",
        request_step("flaky", f"{deployment.receiver_url}/flaky/1/things", retry_intervals=[2]),
    )
    run_id = start_run(deployment, key, workflow_id)
    finished_run(deployment, key, run_id)
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs/{run_id}")

    figure = page.get_by_role("figure", name="Timeline")
    svg = figure.locator("svg.tl-svg")
    expect(svg.locator("title").first).to_have_text("Timeline of the attempts")
    expect(svg.locator("desc")).to_have_text(
        re.compile(r"^2 attempts over .* in 1 step run: 1 failed, 1 retry wait, 1 Retry-After\.$")
    )
    bars = figure.locator(".tl-attempt")
    expect(bars).to_have_count(2)
    expect(bars.nth(0)).to_have_attribute("data-outcome", "failed")
    expect(bars.nth(1)).to_have_attribute("data-outcome", "succeeded")
    # Measured together, in one task of the page: the plot is drawn again once its width
    # is known (a ResizeObserver), and boxes read one call at a time could come from two
    # drawings, or from an element the redraw had just replaced (no box at all).
    first_bar, second_bar, wait, marker = figure.evaluate(
        """figure => {
            const box = (element) => {
                const { x, width } = element.getBoundingClientRect();
                return { x, width };
            };
            const [first, second] = figure.querySelectorAll(".tl-attempt rect");
            const wait = figure.querySelector(".tl-wait");
            const marker = figure.querySelector(".tl-retry-after");
            return [box(first), box(second), box(wait), box(marker)];
        }"""
    )
    # Left to right: the failed attempt, the wait (2 s), then the attempt that succeeded;
    # the server's Retry-After (1 s) falls within the wait.
    # (a bar is drawn at least 4 px wide: a short attempt's bar may reach into its wait).
    assert first_bar["x"] <= wait["x"] <= first_bar["x"] + first_bar["width"] + 1
    assert wait["x"] + wait["width"] <= second_bar["x"] + 1
    assert wait["x"] < marker["x"] + marker["width"] / 2 < wait["x"] + wait["width"]

    tip = figure.get_by_role("tooltip")
    expect(tip).to_be_hidden()
    bars.nth(0).hover()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("flaky, attempt 1: failed, HTTP 503 Service Unavailable")
    expect(tip).to_contain_text(re.compile(r"Sent \d\d:\d\d:\d\d\.\d{3}; answered after \d+ ms"))
    expect(tip).to_contain_text(re.compile(r"Then waited 2(\.\d)? s"))
    expect(tip).to_contain_text("The server asked to wait 1 s (Retry-After)")
    screenshot(page, "run-timeline-hover")
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()

    bars.nth(1).focus()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("flaky, attempt 2: succeeded, HTTP 200 OK")
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    expect(bars.nth(1)).to_have_attribute("aria-label", re.compile(r"attempt 2: succeeded"))

    figure.get_by_text("Timeline as a table").click()
    rows = figure.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("failed (HTTP 503)")
    expect(rows.nth(0).locator("td").last).to_have_text("1 s")
    assert_accessible(page)


def test_the_timeline_fits_a_narrow_window(page: Page, deployment: Deployment) -> None:
    key = deployment.org("Narrow Timeline", "growth")
    workflow_id = publish(
        deployment, key, "Narrow", request_step("one", f"{deployment.receiver_url}/users")
    )
    run_id = start_run(deployment, key, workflow_id)
    finished_run(deployment, key, run_id)
    page.set_viewport_size({"width": 400, "height": 800})
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/runs/{run_id}")
    expect(page.locator("svg.tl-svg")).to_be_visible()
    # The plot is drawn at a guessed width, then again at its own (a ResizeObserver replaces
    # the svg): wait for the drawing at the plot's own width, then measure in one task of the
    # page, so both figures come from the drawing in the page at that moment.
    page.wait_for_function(
        """() => {
            const plot = document.querySelector(".tl-plot");
            const svg = plot?.querySelector("svg.tl-svg");
            return svg && Math.abs(svg.width.baseVal.value - Math.max(280, plot.clientWidth)) <= 1;
        }"""
    )
    right, scroll_width = page.evaluate(
        """() => {
            const { x, width } = document.querySelector("svg.tl-svg").getBoundingClientRect();
            return [x + width, document.documentElement.scrollWidth];
        }"""
    )
    assert right <= 400
    assert scroll_width <= 400
    screenshot(page, "run-narrow")
