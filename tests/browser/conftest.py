"""Browser tests: `callout serve` and `callout receiver` as real processes, Debian's Chromium.

Chromium is the system's (`/usr/bin/chromium`, Debian's `chromium` package; `.ci/run`
installs it). Without it these tests skip, or fail under CALLOUT_TEST_REQUIRE_ALL=1.
Screenshots are kept in `artifacts/browser/` for people to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from browser.accessibility import AccessibilityWatch
from support.services import skip_or_fail

CHROMIUM = os.environ.get("CALLOUT_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Deployment:
    """A running `callout serve` with a receiver beside it, in its own folder."""

    folder: Path
    base_url: str
    receiver_url: str
    env: dict[str, str]

    def callout(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "callout", *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            stdin=subprocess.DEVNULL,
        )
        return done.stdout

    def org(self, name: str, plan: str) -> str:
        """Create an organization with the CLI; return its API key."""
        made = json.loads(self.callout("orgs", "create", name, "--plan", plan, "--json"))
        return str(made["api_key"])

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {key}"})


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def deployed(folder: Path) -> Iterator[Deployment]:
    """Run `callout receiver` and `callout serve` (SQLite) in `folder` for the block."""
    receiver_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "CALLOUT_DATABASE_URL": str(folder / "callout.db"),
        "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32",
        "CALLOUT_CA_BUNDLE": str(folder / ".callout" / "receiver" / "ca.pem"),
    }
    env.pop("CALLOUT_SECRET_KEY", None)
    log = (folder / "processes.log").open("ab")
    receiver = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "callout",
            "receiver",
            "--port",
            str(receiver_port),
            "--secret",
            "s3cr3t",
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    ca = folder / ".callout" / "receiver" / "ca.pem"
    wait_for(ca.exists, "the receiver's CA")
    serve = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "callout", "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, "callout serve")
        yield Deployment(folder, base, f"https://127.0.0.1:{receiver_port}", env)
    finally:
        _stop(serve)
        _stop(receiver)
        log.close()


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # One service for every browser test: each test makes its own organization.
    with deployed(tmp_path_factory.mktemp("deployment")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread
    # while it is open, which the asyncio tests after these must not find.
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        skip_or_fail(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = _launch(playwright)
        yield launched
        launched.close()


def _launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page at 1280x800 that fails its test on a JavaScript error or an axe violation.

    Every page it opens is audited by axe-core once rendered, and its last page before
    it closes (`accessibility.py`); serious and critical violations fail the test.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watch = AccessibilityWatch()
    watch.install(context)
    opened = context.new_page()
    errors: list[object] = []

    def record(error: object) -> None:
        errors.append(error)

    opened.on("pageerror", record)
    yield opened
    watch.audit_last_page(opened)
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
    assert not watch.findings, "accessibility violations (axe-core):\n" + "\n".join(
        map(str, watch.findings)
    )


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact; return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, deployment: Deployment, key: str) -> None:
    page.goto(f"{deployment.base_url}/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workflows")
