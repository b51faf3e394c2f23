"""`GET /metrics`: the service's numbers in Prometheus's text format, for this machine or a token.

Installed by the command that serves the API (`callout serve`, `callout api`),
which decides what the page holds (engine/metrics_exposition.py): the API's
request counts, the due backlog, and under `serve` its worker child's numbers.
Who may read it: engine/metrics_access.py; docs/metrics.md says it all.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from callout.api.errors import error_response
from callout.api.request_metrics import CountedRequests, RequestMetrics
from callout.engine.metrics_access import metrics_refusal
from callout.engine.metrics_exposition import CONTENT_TYPE, MetricsPage

PROXY_HEADERS = ("forwarded", "x-forwarded-for")


def install_metrics(app: FastAPI, page: MetricsPage) -> None:
    """Serve `page` at `/metrics`, and count the app's requests into its registry."""

    @app.get(
        "/metrics",
        tags=["Service"],
        summary="Prometheus metrics (this machine, or CALLOUT_METRICS_TOKEN)",
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"},
            401: {"description": "CALLOUT_METRICS_TOKEN is set and was not sent"},
            403: {"description": "No token is set and the client is not this machine"},
        },
    )
    async def metrics(request: Request) -> Response:
        """Answer the numbers in Prometheus's text format (docs/metrics.md).

        Without CALLOUT_METRICS_TOKEN only loopback clients are answered (403
        otherwise); with it, any client sending `Authorization: Bearer <token>`
        (401 otherwise).
        """
        refusal = metrics_refusal(
            token=page.token,
            authorization=request.headers.get("authorization"),
            client_host=request.client.host if request.client else None,
            proxied=any(name in request.headers for name in PROXY_HEADERS),
        )
        if refusal is not None:
            headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
            return error_response(refusal.status, refusal.code, refusal.message, headers=headers)
        return Response(await page.render(), media_type=CONTENT_TYPE)

    app.add_middleware(CountedRequests, metrics=RequestMetrics(page.registry))
