"""Interactive API docs at /docs, their assets served from the installed swagger-ui-bundle.

No page loads anything from the internet, so /docs works on a closed network.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs() -> HTMLResponse:
    """Serve the Swagger UI page for /openapi.json, in English (`lang` on its html element)."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="callout API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"persistAuthorization": True},
    )
    # FastAPI writes a bare <html>: a screen reader then guesses the page's language.
    html = bytes(page.body).decode("utf-8").replace("<html>", '<html lang="en">', 1)
    return HTMLResponse(html, status_code=page.status_code)


def install_docs(app: FastAPI) -> None:
    """Serve /docs and its assets."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=Path(swagger_ui_bundle.swagger_ui_path)), name="docs")
