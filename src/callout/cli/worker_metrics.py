"""`callout worker --metrics-port`: the worker's `/metrics`, on a small server in its own loop.

A worker beside `callout api` has no API of its own to answer on, so it serves
its numbers itself (aiohttp, already loaded for its requests). It listens on
`--metrics-host` (127.0.0.1 by default) and follows the same access rule as the
API's `/metrics` (engine/metrics_access.py).
"""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from aiohttp.typedefs import Handler

from callout.cli.log_format import announce
from callout.engine.metrics_access import metrics_refusal
from callout.engine.metrics_exposition import CONTENT_TYPE, MetricsPage

PROXY_HEADERS = ("Forwarded", "X-Forwarded-For")
EXIT_SETTINGS = 2


def _handler(page: MetricsPage) -> Handler:
    async def metrics(request: web.Request) -> web.StreamResponse:
        refusal = metrics_refusal(
            token=page.token,
            authorization=request.headers.get("Authorization"),
            client_host=request.remote,
            proxied=any(name in request.headers for name in PROXY_HEADERS),
        )
        if refusal is not None:
            body = {"error": {"code": refusal.code, "message": refusal.message, "details": []}}
            headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
            return web.json_response(body, status=refusal.status, headers=headers)
        return web.Response(body=await page.render(), headers={"Content-Type": CONTENT_TYPE})

    return metrics


async def serve_worker_metrics(page: MetricsPage, *, host: str, port: int) -> web.AppRunner:
    """Answer `GET /metrics` on `host:port` until the returned runner is cleaned up.

    Exits the process (2) with a clear line when it cannot listen there.
    """
    app = web.Application()
    app.router.add_get("/metrics", _handler(page))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        announce(f"cannot listen for metrics on {host}:{port}: {exc}", level=logging.ERROR)
        sys.exit(EXIT_SETTINGS)
    announce(f"worker metrics on http://{host}:{port}/metrics", logger="callout.engine")
    return runner
