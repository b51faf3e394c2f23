"""A route's shortcut: the common call answered without FastAPI's per-request machinery.

The two trigger routes are the API's hot path: every event comes through them.
For each request FastAPI solves the route's dependencies, validates the path, the
headers and the body it parses a second time, then validates and serialises the
returned model again: a third of the API's CPU per trigger (docs/benchmarks.md).

A route of `ShortcutRoute` whose endpoint carries a shortcut (`@shortcut(fast)`)
first offers each request to `fast(request)`. The shortcut checks the call by the
same rules the endpoint declares, with no side effect; when every check holds it
answers, running the same code the endpoint runs; when any is in doubt (a value
the declared rules would refuse, no API key, an unknown key) it returns None and
FastAPI's own handler answers as it always did, errors included. So an answer
never depends on which path gave it
(`tests/integration/api/test_trigger_shortcut.py` compares the two).

`app.state.shortcuts = False` sends every request down FastAPI's path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

Shortcut = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_SHORTCUT = "__callout_shortcut__"


def shortcut(fast: Shortcut) -> Callable[[Endpoint], Endpoint]:
    """Give an endpoint a shortcut, taken by a `ShortcutRoute` when it answers."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _SHORTCUT, fast)
        return endpoint

    return mark


class ShortcutRoute(APIRoute):
    """An API route whose endpoint's shortcut, if it has one, may answer first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, behind the endpoint's shortcut when it has one."""
        general = super().get_route_handler()
        fast: Shortcut | None = getattr(self.endpoint, _SHORTCUT, None)
        if fast is None:
            return general

        async def handler(request: Request) -> Response:
            if getattr(request.app.state, "shortcuts", True):
                answer = await fast(request)
                if answer is not None:
                    return answer
            return await general(request)

        return handler
