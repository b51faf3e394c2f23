"""/docs renders the API description from callout's own assets: nothing from the internet."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect

from browser.conftest import Deployment


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
