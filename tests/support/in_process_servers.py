"""An ASGI app served by uvicorn on a loopback port, on the test's own event loop.

Tests that must see the loop being held (the loop-lag probe) need the app behind a
real socket on the same loop that runs the work: `httpx.ASGITransport` would call
the app without a socket, and a probe could not reach it from its thread.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

STARTUP_TIMEOUT = 10.0


@asynccontextmanager
async def serving(app: Any, *, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve `app` on a free loopback port of this loop; yield its base URL, e.g. http://127.0.0.1:PORT."""
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
    # protocol says TCP, and without it every keep-alive answer waits ~40 ms (Nagle).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    port: int = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise AssertionError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STARTUP_TIMEOUT)
        listener.close()
