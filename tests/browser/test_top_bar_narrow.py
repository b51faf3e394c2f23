"""The top bar on a narrow window (400 px): at most three lines (the brand with the plan and
Sign out, then the six pages in two rows of three), nothing cut or scrolled away, every page's
link on screen, named and taking you there; at 1280 px it stays one line, 56 px high."""

from __future__ import annotations

from typing import NamedTuple

from playwright.sync_api import Locator, Page, expect

from browser.accessibility import assert_accessible
from browser.conftest import Deployment, screenshot, sign_in

WIDTH = 400
THREE_LINES = 116
"""The brand's line and two rows of pages (links 29 px high), with the bar's padding and gaps;
four lines would be about 145."""
PAGES = {
    "Workflows": "/workflows",
    "Runs": "/runs",
    "Secrets": "/secrets",
    "Hosts": "/hosts",
    "Notifications": "/notifications",
    "Organization": "/organization",
}


class Edges(NamedTuple):
    """Where an element is drawn, in the window's pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _edges(element: Locator) -> Edges:
    box = element.bounding_box()
    assert box is not None, element
    return Edges(box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"])


def _inside_the_bar(page: Page, element: Locator) -> Edges:
    """The bar's element is shown whole, inside the window and inside the bar (nothing cut)."""
    expect(element).to_be_visible()
    edges, bar = _edges(element), _edges(page.locator(".topbar"))
    assert edges.left >= 0, edges
    assert edges.right <= WIDTH, edges
    assert edges.top >= bar.top, (edges, bar)
    assert edges.bottom <= bar.bottom, (edges, bar)
    return edges


def _apart(drawn: dict[str, Edges]) -> None:
    """No two of them overlap (each can be clicked where it is drawn)."""
    items = list(drawn.items())
    for i, (a, one) in enumerate(items):
        for b, other in items[i + 1 :]:
            across = one.right <= other.left or other.right <= one.left
            down = one.bottom <= other.top or other.bottom <= one.top
            assert across or down, (a, one, b, other)


def test_the_top_bar_is_three_lines_at_400px_with_every_link_on_screen(
    page: Page, deployment: Deployment
) -> None:
    key = deployment.org("Narrow Bar Organization", "growth")
    page.set_viewport_size({"width": WIDTH, "height": 800})
    sign_in(page, deployment, key)

    topbar = page.locator(".topbar")
    assert _edges(topbar).height <= THREE_LINES, _edges(topbar)
    nav = page.get_by_role("navigation", name="Main")
    drawn = {
        name: _inside_the_bar(page, nav.get_by_role("link", name=name, exact=True))
        for name in PAGES
    }
    drawn["callout"] = _inside_the_bar(page, topbar.get_by_role("link", name="callout"))
    drawn["Sign out"] = _inside_the_bar(page, topbar.get_by_role("button", name="Sign out"))
    _apart(drawn)
    expect(page.locator(".topbar .badge")).to_have_text("Growth")
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " window: document.documentElement.clientWidth})"
    )
    assert widths["page"] <= widths["window"], widths
    screenshot(page, "top-bar-400")

    # Each link takes you to its page, which it then marks as the current one; the bar keeps
    # its height on every page.
    for name, path in PAGES.items():
        nav.get_by_role("link", name=name, exact=True).click()
        page.wait_for_url(f"**{path}")
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        assert _edges(topbar).height <= THREE_LINES, name
    assert_accessible(page)

    # A wide window keeps the bar as it was: one line, 56 px, the organization's name shown.
    page.set_viewport_size({"width": 1280, "height": 800})
    assert _edges(topbar).height == 56, _edges(topbar)
    expect(topbar.locator(".org")).to_contain_text("Narrow Bar Organization")
    for name in PAGES:
        link = _edges(nav.get_by_role("link", name=name, exact=True))
        assert link.bottom <= 56, (name, link)
