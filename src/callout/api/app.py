"""The API application: routes, the one error shape, the body cap, offline docs."""

from __future__ import annotations

from fastapi import FastAPI, Response

from callout import __version__
from callout.api.context import ApiContext
from callout.api.errors import install_error_handlers
from callout.api.health import DatabaseHealth, Health
from callout.api.json_bodies import JsonBodies
from callout.api.limits import BodyLimit
from callout.api.routes import (
    curl_import,
    hosts,
    notification_endpoints,
    organization,
    runs,
    secrets,
    step_test,
    triggers,
    workflow_activity,
    workflows,
)
from callout.api.routes.docs import install_docs
from callout.api.shortcuts import ShortcutsFirst

DESCRIPTION = """\
callout runs workflows whose steps make signed, retried, guarded HTTPS requests.

Authenticate with an API key: `Authorization: Bearer <key>` (`callout orgs create`
prints the first one). Every resource belongs to the key's organization; another
organization's ids answer 404. Every error has one shape:
`{"error": {"code", "message", "details": [{"path", "message"}]}}`.
"""


def create_app(context: ApiContext) -> FastAPI:
    """Return the API serving `context`'s store."""
    app = FastAPI(
        title="callout",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        # callout's telemetry is its own (`/metrics`, docs/metrics.md). FastAPI's
        # OpenTelemetry hooks asked the environment for a provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.context = context
    # Set, not left to a default: a missing attribute of the state raises inside
    # `getattr`, which cost 1.5% of the API's time when every request asked.
    app.state.shortcuts = True
    install_error_handlers(app)
    modules = (
        organization,
        workflows,
        step_test,
        triggers,
        runs,
        secrets,
        workflow_activity,
        curl_import,
        hosts,
        notification_endpoints,
    )
    for module in modules:
        app.include_router(module.router)
    # Every /v1 route, for the Allow header of a 405 (the app nests included routers).
    app.state.api_routes = [route for module in modules for route in module.router.routes]
    install_docs(app)

    database = DatabaseHealth(context.store)

    @app.get(
        "/healthz",
        tags=["Service"],
        summary="Liveness, and whether the database answers",
        responses={503: {"model": Health, "description": "The database is unavailable"}},
    )
    async def healthz(response: Response) -> Health:
        """Answer 200 while the service runs and reaches its database, else 503.

        `{"status": "ok", "database": "ok"}`, or `{"status": "degraded", "database":
        "unavailable"}` with 503. The database is asked at most once a second, so
        polling this is cheap.
        """
        health = await database.health()
        if health.status != "ok":
            response.status_code = 503
        return health

    # Inside the body cap: JSON bodies are checked once the cap has held; the trigger
    # routes' shortcuts are offered, before routing, the bodies so checked.
    app.add_middleware(ShortcutsFirst, routes=lambda: app.state.api_routes)
    app.add_middleware(JsonBodies)
    app.add_middleware(BodyLimit, limit=context.max_body_bytes)
    return app
