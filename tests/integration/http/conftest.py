"""Fixtures for the transport: a trustme CA, loopback HTTPS servers, raw TLS servers, a spy.

Tests that name public addresses never let a connection through: the
`connections` spy refuses every connect that is not to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from callout.http import AiohttpTransport, TransportConfig
from integration.http.loopback import (
    ConnectionSpy,
    Hit,
    LoopbackServer,
    RawHandler,
    RawServer,
    StartRawServer,
    StartServer,
    server_context,
)

# --- certificates ------------------------------------------------------------


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    return server_context(ca)


# --- transports --------------------------------------------------------------


@pytest.fixture
def loopback_config(ca_bundle: Path) -> TransportConfig:
    """Trusts the test CA and opens exactly 127.0.0.1/32, so loopback servers are reachable."""
    return TransportConfig(allowed_networks=(ip_network("127.0.0.1/32"),), ca_bundle=ca_bundle)


@pytest.fixture
async def make_transport() -> AsyncIterator[Callable[..., AiohttpTransport]]:
    """Build transports that are all closed when the test ends."""
    made: list[AiohttpTransport] = []

    def make(config: TransportConfig, **kwargs: Any) -> AiohttpTransport:
        transport = AiohttpTransport(config, **kwargs)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        await transport.aclose()


@pytest.fixture
async def loopback_transport(
    loopback_config: TransportConfig, make_transport: Callable[..., AiohttpTransport]
) -> AiohttpTransport:
    return make_transport(loopback_config)


# --- the connection spy ------------------------------------------------------


@pytest.fixture
async def connections(monkeypatch: pytest.MonkeyPatch) -> ConnectionSpy:
    """Record every connect on the running loop; refuse any that is not to 127.0.0.1.

    aiohttp connects through `loop.sock_connect` (happy eyeballs), then hands
    the socket to `loop.create_connection(sock=...)`; a connect by host name
    would go through `create_connection(host, port)`. Both are recorded.
    """
    spy = ConnectionSpy()
    loop = asyncio.get_running_loop()
    real_sock_connect = loop.sock_connect
    real_create_connection = loop.create_connection

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        host, port = str(address[0]), int(address[1])
        spy.attempts.append((host, port))
        if ip_address(host) != ip_address("127.0.0.1"):
            raise ConnectionRefusedError(111, "the test spy refused a non-loopback connect")
        await real_sock_connect(sock, address)

    async def create_connection(*args: Any, **kwargs: Any) -> Any:
        host = kwargs.get("host", args[1] if len(args) > 1 else None)
        if host is not None:
            port = int(kwargs.get("port", args[2] if len(args) > 2 else 0))
            spy.attempts.append((str(host), port))
            if host != "127.0.0.1":
                raise ConnectionRefusedError(111, "the test spy refused a non-loopback connect")
        return await real_create_connection(*args, **kwargs)

    monkeypatch.setattr(loop, "sock_connect", sock_connect)
    monkeypatch.setattr(loop, "create_connection", create_connection)
    return spy


# --- servers -----------------------------------------------------------------


async def _ok(_request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


@pytest.fixture
async def start_server(ca: trustme.CA) -> AsyncIterator[StartServer]:
    """Start aiohttp servers on 127.0.0.1:<random>: HTTPS with a `ca` cert, or plain HTTP."""
    default_ca = ca
    runners: list[web.AppRunner] = []

    async def start(*, tls: bool = True, ca: trustme.CA | None = None) -> LoopbackServer:
        server = LoopbackServer(port=0, scheme="https" if tls else "http")
        context = server_context(ca or default_ca, server.sni_seen) if tls else None

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            headers = list(request.headers.items())
            server.hits.append(
                Hit(request.method, request.path, request.raw_path, request.host, headers, body)
            )
            return await server.routes.get(request.path, _ok)(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server.port = runner.addresses[0][1]
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def start_raw_server(server_tls: ssl.SSLContext) -> AsyncIterator[StartRawServer]:
    """Start a bare asyncio server (TLS by default) whose behaviour `handler` scripts.

    For what an aiohttp server will not do on purpose: stall, trickle, hang up.
    """
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[Any]] = set()

    async def start(handler: RawHandler, *, tls: bool = True) -> RawServer:
        raw = RawServer(port=0)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw.accepted += 1
            task = asyncio.current_task()
            if task is not None:
                handlers.add(task)
            # Stalling handlers are cancelled at teardown; asyncio (3.11) logs a
            # cancelled connection task as an error, so the cancellation ends here.
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.CancelledError):
                try:
                    await handler(reader, writer)
                finally:
                    writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_tls if tls else None)
        servers.append(server)
        raw.port = server.sockets[0].getsockname()[1]
        return raw

    yield start
    for server in servers:
        server.close()
    for task in handlers:
        task.cancel()
    for server in servers:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
