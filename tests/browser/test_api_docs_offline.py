"""/docs renders the API description from callout's own assets: nothing from the internet."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect

from browser.accessibility import NOT_OURS, audit
from browser.conftest import Deployment

SWAGGER_UIS_OWN = {"color-contrast", "nested-interactive"}
"""What axe still reports on /docs, all in Swagger UI's bundled markup and colours (its
method badges and version stamp, its operation headers that hold buttons): why /docs is in
`NOT_OURS`. The page around it is ours, and has no finding of its own."""


def test_the_interactive_docs_render_with_only_local_requests(
    page: Page, deployment: Deployment
) -> None:
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    page.goto(f"{deployment.base_url}/docs")
    expect(page.get_by_role("heading", name="callout")).to_be_visible(timeout=15000)
    expect(page.get_by_text("/v1/workflows/{workflow_id}/trigger").first).to_be_visible()
    hosts = {urlsplit(url).netloc for url in requested if not url.startswith("data:")}
    assert hosts == {urlsplit(deployment.base_url).netloc}
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in requested)


def test_the_docs_page_says_its_language_and_axe_finds_only_swagger_uis_own_issues(
    page: Page, deployment: Deployment
) -> None:
    assert "/docs" in NOT_OURS
    page.goto(f"{deployment.base_url}/docs")
    expect(page.get_by_role("heading", name="callout")).to_be_visible(timeout=15000)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".opblock").first).to_be_visible()
    found = {finding.rule for finding in audit(page)}
    assert "html-has-lang" not in found
    assert found <= SWAGGER_UIS_OWN, found
