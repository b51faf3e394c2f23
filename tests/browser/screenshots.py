"""Screenshots of every dashboard page for docs/dashboard.md, made from a real deployment.

    .venv/bin/python tests/browser/screenshots.py [--out docs/dashboard]

Starts `callout serve` (SQLite, in a temporary folder) and `callout receiver` as the
browser tests do (`deployed` in conftest.py), fills an organization with workflows
and runs through the API, then drives Debian's Chromium through the pages as a person
would: sign in, Workflows, the editor, the editor with a step open, a Test step result, a run
with its timeline, a failed run, Runs, Secrets, Organization, Hosts (one paused by its circuit
breaker, with limits) and Notifications. Each page is saved at 1280x800 and
400x800 (the viewport, as a person sees it on opening the page) as
`<page>-1280.png` and `<page>-400.png`. Rerun it after changing a page.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:  # run as a script: import the browser tests' helpers
    sys.path.insert(0, str(TESTS))

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from browser.conftest import CHROMIUM, CHROMIUM_ARGS, Deployment, deployed, sign_in  # noqa: E402
from browser.published import finished_run, publish, request_step, start_run  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"
WIDTHS = (1280, 400)
HEIGHT = 800


def _organization(deployment: Deployment) -> tuple[str, dict[str, str]]:
    """An organization with a secret, three workflows and a day's worth of runs."""
    key = deployment.org("Acme", "growth")
    with deployment.api(key) as api:
        stored = api.post("/v1/secrets", json={"name": "crm_signing", "value": "whsec_example"})
        assert stored.status_code in {200, 201}, stored.text
    crm = publish(
        deployment,
        key,
        "Create the user in our CRM",
        request_step(
            "create_user",
            f"{deployment.receiver_url}/status/{{{{ trigger.code }}}}",
            method="POST",
            body={"email": "{{ trigger.email }}", "source": "callout"},
            headers=[{"key": "X-Source", "value": "callout"}],
            secret="{{ secrets.crm_signing }}",
        ),
    )
    flaky = publish(
        deployment,
        key,
        "Notify the sales channel",
        request_step(
            "notify",
            f"{deployment.receiver_url}/flaky/2/hooks",
            method="POST",
            body={"text": "New user {{ trigger.email }}"},
            retry_intervals=[1, 2],
        ),
    )
    broken = publish(
        deployment,
        key,
        "Sync the order",
        request_step("sync", f"{deployment.receiver_url}/status/500", retry_intervals=[1]),
    )
    for code in (201, 201, 500, 201, 200):
        start_run(deployment, key, crm, {"code": code, "email": "ada@example.com"})
    timeline = start_run(deployment, key, flaky, {"email": "ada@example.com"})
    failed = start_run(deployment, key, broken)
    for run_id in (timeline, failed):
        finished_run(deployment, key, run_id)
    _delivery_control(deployment, key, crm)
    return key, {"crm": crm, "timeline": timeline, "failed": failed}


def _delivery_control(deployment: Deployment, key: str, crm: str) -> None:
    """Limits, a notification endpoint, and the receiver's host paused with a run waiting.

    Last, once the other runs have finished: every run to the receiver waits from here on.
    """
    receiver_host = "127.0.0.1"
    limits = {
        "*": {"max_in_flight": 10, "rate_per_second": 20, "burst": 5},
        "api.example.com": {"max_in_flight": 5, "breaker_failures": 10},
        receiver_host: {"breaker_failures": 1, "breaker_pause_seconds": 600},
    }
    with deployment.api(key) as api:
        for host, limit in limits.items():
            saved = api.put(f"/v1/host-limits/{host}", json=limit)
            assert saved.status_code == 200, saved.text
        made = api.post(
            "/v1/notification-endpoints",
            json={
                "name": "Ops alerts",
                "url": f"{deployment.receiver_url}/hooks/ops",
                "events": ["run.failed", "host.paused"],
                "format": "slack",
            },
        )
        assert made.status_code == 201, made.text
    down = publish(
        deployment,
        key,
        "Tell the warehouse",
        request_step("ship", f"{deployment.receiver_url}/status/503"),
    )
    finished_run(deployment, key, start_run(deployment, key, down))
    start_run(deployment, key, crm, {"code": 201, "email": "grace@example.com"})


def _sign_in(page: Page, deployment: Deployment, key: str) -> None:
    page.goto(f"{deployment.base_url}/sign-in")
    expect(page.get_by_label("API key")).to_be_visible()
    sign_in(page, deployment, key)


def _editor(page: Page, deployment: Deployment, ids: dict[str, str]) -> None:
    page.goto(f"{deployment.base_url}/workflows/{ids['crm']}")
    expect(page.locator(".activity-card svg.activity-svg")).to_be_visible()


def _editor_step(page: Page, deployment: Deployment, ids: dict[str, str]) -> None:
    _editor(page, deployment, ids)
    page.get_by_role("button", name="Step 1: create_user").click()
    expect(page.get_by_role("textbox", name="URL")).to_be_visible()


def _test_step(page: Page, deployment: Deployment, ids: dict[str, str]) -> None:
    _editor_step(page, deployment, ids)
    page.get_by_label("Sample trigger data").fill('{"code": 201, "email": "ada@example.com"}')
    page.get_by_role("button", name="Test step").click()
    expect(page.locator(".test-result")).to_contain_text(
        re.compile("succeeded", re.IGNORECASE), timeout=15000
    )


def _page(path: str, ready: Callable[[Page], None]) -> Callable[[Page, Deployment], None]:
    def visit(page: Page, deployment: Deployment) -> None:
        page.goto(f"{deployment.base_url}{path}")
        ready(page)

    return visit


def _run(page: Page, deployment: Deployment, run_id: str) -> None:
    page.goto(f"{deployment.base_url}/runs/{run_id}")
    expect(page.locator("svg.tl-svg")).to_be_visible()


def shoot(browser: Browser, out: Path) -> list[Path]:
    """Save every page at each width into `out`; return the files written."""
    saved: list[Path] = []
    with (
        tempfile.TemporaryDirectory(prefix="callout-screens-") as folder,
        deployed(Path(folder)) as deployment,
    ):
        key, ids = _organization(deployment)
        shots: dict[str, Callable[[Page], None]] = {
            "workflows": lambda p: _page(
                "/workflows", lambda q: expect(q.locator("svg.activity-svg").first).to_be_visible()
            )(p, deployment),
            "editor": lambda p: _editor(p, deployment, ids),
            "editor-step": lambda p: _editor_step(p, deployment, ids),
            "test-step": lambda p: _test_step(p, deployment, ids),
            "run-timeline": lambda p: _run(p, deployment, ids["timeline"]),
            "run-failed": lambda p: _run(p, deployment, ids["failed"]),
            "runs": lambda p: _page(
                "/runs", lambda q: expect(q.locator("tbody tr").first).to_be_visible()
            )(p, deployment),
            "secrets": lambda p: _page(
                "/secrets",
                lambda q: expect(q.get_by_text("crm_signing", exact=True)).to_be_visible(),
            )(p, deployment),
            "organization": lambda p: _page(
                "/organization",
                lambda q: expect(q.get_by_role("button", name="Save retention")).to_be_visible(),
            )(p, deployment),
            "hosts": lambda p: _page(
                "/hosts",
                lambda q: expect(
                    q.get_by_role("button", name="Resume 127.0.0.1 now")
                ).to_be_visible(),
            )(p, deployment),
            "notifications": lambda p: _page(
                "/notifications",
                lambda q: expect(q.get_by_role("row", name="Ops alerts")).to_be_visible(),
            )(p, deployment),
        }
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": HEIGHT})
            page = context.new_page()
            page.goto(f"{deployment.base_url}/sign-in")
            expect(page.get_by_label("API key")).to_be_visible()
            saved.append(out / f"sign-in-{width}.png")
            page.screenshot(path=str(saved[-1]))
            _sign_in(page, deployment, key)
            for name, visit in shots.items():
                visit(page)
                page.mouse.move(0, 0)
                saved.append(out / f"{name}-{width}.png")
                page.screenshot(path=str(saved[-1]))
            context.close()
    return saved


def main() -> None:
    """Write the screenshots (docs/dashboard/ unless --out says otherwise)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNG files")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for path in shoot(browser, out):
                print(path)  # noqa: T201 - the script's report
        finally:
            browser.close()


if __name__ == "__main__":
    main()
