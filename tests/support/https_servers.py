"""Loopback HTTPS test servers whose answers a test scripts per path."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Responder = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hit:
    """A request as the test server saw it."""

    method: str
    path: str
    raw_path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class HttpsServer:
    """A loopback HTTPS server whose answers a test scripts per path."""

    port: int
    hits: list[Hit] = field(default_factory=list)
    routes: dict[str, list[Responder]] = field(default_factory=dict)

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *responders: Responder) -> None:
        """Answer `path` with each responder in turn; the last one repeats."""
        self.routes[path] = list(responders)

    def hits_on(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]


def reply(
    status: int = 200, body: str = "{}", headers: dict[str, str] | None = None, delay: float = 0.0
) -> Responder:
    """A responder answering `status` with a JSON `body` after `delay` seconds."""

    async def respond(_: web.Request) -> web.StreamResponse:
        if delay:
            await asyncio.sleep(delay)
        return web.Response(
            status=status, text=body, content_type="application/json", headers=headers
        )

    return respond


@asynccontextmanager
async def listening(runner: web.BaseRunner, ssl_context: ssl.SSLContext) -> AsyncIterator[int]:
    """Serve `runner` over TLS on a free loopback port; yield the port; clean up after."""
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port: int = runner.addresses[0][1]
        yield port
    finally:
        await runner.cleanup()
