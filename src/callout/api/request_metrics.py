"""The API's own numbers: requests by route, method and status class, and how long they took.

The route is the path template that answered (`/v1/workflows/{workflow_id}`),
never the path itself: ids would make a series per run. A request no route
matched counts as `unmatched`, a method outside the usual ones as `other`.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RequestMetrics:
    """The API's request counter and duration histogram, registered in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # Children by label values, kept here: `labels()` takes a lock and builds a
        # tuple on every call. Bounded: route templates x methods x status classes.
        self._counted: dict[tuple[str, str, str], Counter] = {}
        self._timed: dict[str, Histogram] = {}
        self.requests = Counter(
            "callout_api_requests",
            "API and dashboard requests answered, by route template, method and status class.",
            ("route", "method", "status_class"),
            registry=registry,
        )
        self.seconds = Histogram(
            "callout_api_request_duration_seconds",
            "Time the API took to answer, by route template.",
            ("route",),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )

    def answered(self, route: str, method: str, status_class: str, seconds: float) -> None:
        """Count one request answered and the time it took."""
        labels = (route, method, status_class)
        counted = self._counted.get(labels)
        if counted is None:
            counted = self._counted[labels] = self.requests.labels(*labels)
        counted.inc()
        timed = self._timed.get(route)
        if timed is None:
            timed = self._timed[route] = self.seconds.labels(route)
        timed.observe(seconds)


class CountedRequests:
    """ASGI middleware: count each HTTP request once it is answered."""

    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, noting the status it is answered with."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in METHODS else "other"
            status_class = f"{status // 100}xx" if 100 <= status <= 599 else "none"
            self.metrics.answered(route, method, status_class, time.perf_counter() - started)
