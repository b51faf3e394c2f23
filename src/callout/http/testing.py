"""A transport for tests: a function answers each request, and every request is kept."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable

from callout.http.transport import InboundResponse, OutboundRequest

Handler = Callable[[OutboundRequest], InboundResponse | Awaitable[InboundResponse]]


class MockTransport:
    """Answers each request with `handler(request)`; nothing touches the network.

    The handler may be a plain or an async function, and may raise any
    `AttemptError` branch to play a failed attempt (a timeout, a refused
    address). `requests` lists every request sent, in order, including those
    the handler failed.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[OutboundRequest] = []
        self.closed = False

    async def send(self, request: OutboundRequest) -> InboundResponse:
        """Record `request` and return the handler's answer."""
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        # Like the real transport, a response always says where it came from.
        return answer if answer.url else dataclasses.replace(answer, url=request.url)

    async def aclose(self) -> None:
        """Mark the transport closed; `send` still works, as a closed pool would reopen."""
        self.closed = True
