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

`ShortcutsFirst` offers the shortcuts before FastAPI's routing and its per-route
wrapping run at all (a fifth of the API's CPU per trigger): the two trigger routes
are matched first, and an answer goes straight back. A request a shortcut declines
goes on through FastAPI as any other, and is not offered to it twice.

`app.state.shortcuts = False` sends every request down FastAPI's path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

Shortcut = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_SHORTCUT = "__callout_shortcut__"
_DECLINED = "callout.shortcut_declined"
"""Set in a request's scope once its route's shortcut declined it (`ShortcutsFirst`)."""


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
            if getattr(request.app.state, "shortcuts", True) and _DECLINED not in request.scope:
                answer = await fast(request)
                if answer is not None:
                    return answer
            return await general(request)

        return handler


class ShortcutsFirst:
    """ASGI middleware: a request for a route with a shortcut is offered to it before routing.

    Inside the body cap and the JSON reader (`JsonBodies`), so the body has been
    checked and parsed as for any route. The route is matched as FastAPI's router
    matches it (`route.matches`), and its scope entries (the route, the path
    parameters) are set as the router sets them. An error a shortcut raises is
    answered by the app's exception handler for it, as it would have been behind
    the router; one without a handler of its own goes on up, as before.
    """

    def __init__(self, app: ASGIApp, *, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self._routes = routes
        self._shortcuts: list[tuple[BaseRoute, Shortcut]] | None = None

    def _offered(self) -> list[tuple[BaseRoute, Shortcut]]:
        if self._shortcuts is None:
            self._shortcuts = [
                (route, fast)
                for route in self._routes()
                if isinstance(route, ShortcutRoute)
                and (fast := getattr(route.endpoint, _SHORTCUT, None)) is not None
            ]
        return self._shortcuts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer through a route's shortcut if it answers, else pass the request on."""
        if scope["type"] == "http" and getattr(scope["app"].state, "shortcuts", True):
            for route, fast in self._offered():
                matched, child = route.matches(scope)
                if matched is not Match.FULL:
                    continue
                scope.update(child)
                request = Request(scope, receive)
                try:
                    answer = await fast(request)
                except Exception as exc:  # noqa: BLE001 - its handler answers, or it goes on up
                    answer = await _handled(request, exc)
                if answer is not None:
                    await answer(scope, receive, send)
                    return
                scope[_DECLINED] = True
                break
        await self.app(scope, receive, send)


async def _handled(request: Request, error: Exception) -> Response:
    """Return the app's answer to `error` by its own handler; raise it if it has none."""
    handlers = request.app.exception_handlers
    for kind in type(error).__mro__:
        if kind is Exception:
            break  # the catch-all answers outside (ServerErrorMiddleware), as it always did
        if kind in handlers:
            answer: Response = await handlers[kind](request, error)
            return answer
    raise error
