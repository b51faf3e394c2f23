"""axe-core on every page the browser tests open: no serious or critical violation.

axe-core comes from the `axe-playwright-python` package (its bundled `axe.min.js`),
injected into every page of a test's browser context before the page's own scripts.
Each page is audited once it has rendered (no "Loading…" left and the DOM quiet
for a moment), whatever the test does next; a test may audit a state of its own
(a dialog open, a panel open) with `assert_accessible(page)`; and the page fixture
audits each test's last page before it closes. Findings of impact `serious` or
`critical` fail the test, naming the page, the rule and the elements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Error, Page

AXE_SOURCE = (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")

FAILING_IMPACTS = ("serious", "critical")

NOT_OURS = ("/docs",)
"""Paths of pages callout does not draw: /docs is Swagger UI as bundled (swagger-ui-bundle),
whose own colours and nested controls axe reports. The watch and the last-page audit leave
them out; `assert_accessible` still audits any page it is given."""

# Runs in every document of the context, before its scripts. One audit at a time
# (axe refuses to run twice at once): audits queue on `window.__calloutAudit`.
_WATCH = """
(() => {
  if (window.top !== window || !/^https?:$/.test(location.protocol)) return;
  const failing = FAILING_IMPACTS;
  const here = location.pathname;
  const ours = !NOT_OURS.some((path) => here === path || here.startsWith(`${path}/`));
  let queue = Promise.resolve();
  const compact = (result) => result.violations
    .filter((v) => failing.includes(v.impact))
    .map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
  window.__calloutAudit = () => {
    queue = queue.then(() => axe.run(document, { resultTypes: ["violations"] }).then(compact));
    return queue;
  };
  let timer = null;
  let audited = false;
  const settle = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (audited || !ours) return;
      if (document.querySelector("#app > .loading")) return settle();
      audited = true;
      window.__calloutAudit()
        .then((found) => window.__calloutAxeReport(location.href, found))
        .catch((error) => window.__calloutAxeReport(location.href, [
          { rule: "axe-error", impact: "critical", help: String(error), nodes: [] },
        ]))
        .finally(() => { window.__calloutWatched = true; });
    }, 300);
  };
  document.addEventListener("DOMContentLoaded", () => {
    new MutationObserver(settle).observe(document.documentElement, {
      subtree: true, childList: true, attributes: true, characterData: true,
    });
    settle();
  });
})();
""".replace("FAILING_IMPACTS", json.dumps(FAILING_IMPACTS)).replace(
    "NOT_OURS", json.dumps(NOT_OURS)
)


@dataclass
class Finding:
    """A serious or critical axe violation on one page."""

    url: str
    rule: str
    impact: str
    help: str
    nodes: list[str]

    def __str__(self) -> str:
        where = "\n    ".join(self.nodes)
        return f"{self.url}: {self.rule} ({self.impact}) {self.help}\n    {where}"


def _findings(url: str, found: list[dict[str, Any]]) -> list[Finding]:
    return [
        Finding(url, str(v["rule"]), str(v["impact"]), str(v["help"]), list(v["nodes"]))
        for v in found
    ]


@dataclass
class AccessibilityWatch:
    """Audits every page of one browser context; keeps what it finds."""

    findings: list[Finding] = field(default_factory=list)

    def install(self, context: BrowserContext) -> None:
        """Inject axe-core and the watcher into every page the context opens."""
        context.expose_function("__calloutAxeReport", self._report)
        context.add_init_script(script=AXE_SOURCE)
        context.add_init_script(script=_WATCH)

    def _report(self, url: str, found: list[dict[str, Any]]) -> None:
        self.findings.extend(_findings(url, found))

    def audit_last_page(self, page: Page) -> None:
        """Audit the page as it stands (the test's last state), if it is still open."""
        if page.is_closed() or not page.url.startswith("http"):
            return
        path = urlsplit(page.url).path
        if any(path == ours or path.startswith(f"{ours}/") for ours in NOT_OURS):
            return
        try:
            self.findings.extend(audit(page))
        except Error:  # the page went away mid-audit: nothing more to see
            return


def wait_for_watch(page: Page) -> None:
    """Wait until the watch has audited and reported the page (it audits a page once)."""
    page.wait_for_function("() => window.__calloutWatched === true")


def audit(page: Page) -> list[Finding]:
    """Run axe on the page as it is now; return its serious and critical violations."""
    found: list[dict[str, Any]] = page.evaluate("() => window.__calloutAudit()")
    return _findings(page.url, found)


def assert_accessible(page: Page) -> None:
    """Fail when axe finds a serious or critical violation on the page as it is now."""
    findings = audit(page)
    assert not findings, "accessibility violations:\n" + "\n".join(map(str, findings))
