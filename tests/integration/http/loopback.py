"""What the transport's integration tests talk to: loopback servers, scripted resolvers, a spy.

Everything listens on 127.0.0.1 with a random port; nothing reaches beyond
the machine.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiohttp import web

from callout.model.errors import ConnectError

SERVER_NAMES = ("localhost", "127.0.0.1", "api.test")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def server_context(ca: trustme.CA, sni_seen: list[str] | None = None) -> ssl.SSLContext:
    """A server TLS context with a certificate from `ca` for localhost, 127.0.0.1 and api.test."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*SERVER_NAMES).configure_cert(context)
    if sni_seen is not None:

        def record(_sock: Any, name: str | None, _context: ssl.SSLContext) -> None:
            sni_seen.append(name or "")

        context.sni_callback = record
    return context


# --- resolvers ---------------------------------------------------------------


@dataclass
class ScriptedResolver:
    """Answers each look-up with the next scripted answer (the last one repeats)."""

    answers: list[list[str]]
    asked: list[tuple[str, int]] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return list(self.answers[min(len(self.asked), len(self.answers)) - 1])


@dataclass
class FailingResolver:
    """A look-up that fails, as the system resolver reports an unknown name."""

    asked: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        raise ConnectError(f"could not resolve {host}: Name or service not known")


@dataclass
class HangingResolver:
    """A look-up that never answers."""

    asked: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


# --- the connection spy ------------------------------------------------------


@dataclass
class ConnectionSpy:
    """Every TCP connect the event loop was asked to make, as (address, port)."""

    attempts: list[tuple[str, int]] = field(default_factory=list)


# --- servers -----------------------------------------------------------------


@dataclass
class Hit:
    """A request as an aiohttp test server saw it."""

    method: str
    path: str
    raw_path: str
    host: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class LoopbackServer:
    """An aiohttp server on 127.0.0.1; `routes` maps a path to its handler (default: 200 JSON)."""

    port: int
    scheme: str
    hits: list[Hit] = field(default_factory=list)
    routes: dict[str, Handler] = field(default_factory=dict)
    sni_seen: list[str] = field(default_factory=list)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def hits_on(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]


@dataclass
class RawServer:
    """A bare asyncio server on 127.0.0.1; `accepted` counts the connections it took."""

    port: int
    accepted: int = 0


StartServer = Callable[..., Awaitable[LoopbackServer]]
StartRawServer = Callable[..., Awaitable[RawServer]]
