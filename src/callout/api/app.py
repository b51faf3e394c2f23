"""The API application: routes, the one error shape, the body cap, offline docs."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from callout import __version__
from callout.api.context import ApiContext
from callout.api.errors import install_error_handlers
from callout.api.limits import BodyLimit
from callout.api.routes import organization, runs, secrets, step_test, triggers, workflows
from callout.api.routes.docs import install_docs

DESCRIPTION = """\
callout runs workflows whose steps make signed, retried, guarded HTTPS requests.

Authenticate with an API key: `Authorization: Bearer <key>` (`callout orgs create`
prints the first one). Every resource belongs to the key's organization; another
organization's ids answer 404. Every error has one shape:
`{"error": {"code", "message", "details": [{"path", "message"}]}}`.
"""


class Health(BaseModel):
    """The service is up."""

    status: str


def create_app(context: ApiContext) -> FastAPI:
    """Return the API serving `context`'s store."""
    app = FastAPI(
        title="callout",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    install_error_handlers(app)
    modules = (organization, workflows, step_test, triggers, runs, secrets)
    for module in modules:
        app.include_router(module.router)
    # Every /v1 route, for the Allow header of a 405 (the app nests included routers).
    app.state.api_routes = [route for module in modules for route in module.router.routes]
    install_docs(app)

    @app.get("/healthz", tags=["Service"], summary="Liveness")
    async def healthz() -> Health:
        """Answer 200 while the service runs."""
        return Health(status="ok")

    app.add_middleware(BodyLimit, limit=context.max_body_bytes)
    return app
