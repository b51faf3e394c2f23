"""One timeout covers the look-up, connect, TLS, sending and reading the whole body.

These wait on the real clock (about a second each): the bound is the point.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import AttemptTimeout
from integration.http.loopback import HangingResolver, RawHandler, StartRawServer

pytestmark = pytest.mark.realclock


async def _read_request_head(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def stall(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
    await _read_request_head(reader)
    await asyncio.Event().wait()


async def trickle_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while True:  # a header that never ends
        writer.write(b"a")
        await writer.drain()
        await asyncio.sleep(0.2)


async def trickle_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    while True:
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.2)


async def trickle_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:
        writer.write(b"1\r\nx\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)


async def _timed_send(transport: AiohttpTransport, url: str) -> float:
    started = time.monotonic()
    with pytest.raises(AttemptTimeout, match="no complete response within 1 s") as caught:
        await transport.send(OutboundRequest("GET", url, timeout=1))
    assert caught.value.retryable
    return time.monotonic() - started


@pytest.mark.parametrize(
    "handler",
    [stall, trickle_head, trickle_body, trickle_chunks],
    ids=["stalled", "trickled-head", "trickled-body", "trickled-chunks"],
)
async def test_a_server_that_stalls_or_trickles_is_cut_off_at_the_timeout(
    handler: RawHandler, start_raw_server: StartRawServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_raw_server(handler)
    elapsed = await _timed_send(loopback_transport, f"https://127.0.0.1:{server.port}/")
    assert 0.9 <= elapsed < 2.5
    assert server.accepted == 1


async def test_a_server_that_never_starts_tls_is_cut_off_at_the_timeout(
    start_raw_server: StartRawServer, loopback_transport: AiohttpTransport
) -> None:
    async def silent(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    server = await start_raw_server(silent, tls=False)
    elapsed = await _timed_send(loopback_transport, f"https://127.0.0.1:{server.port}/")
    assert 0.9 <= elapsed < 2.5


async def test_a_look_up_that_hangs_is_cut_off_at_the_timeout(
    loopback_config: TransportConfig, make_transport: Callable[..., AiohttpTransport]
) -> None:
    resolver = HangingResolver()
    transport = make_transport(loopback_config, resolver=resolver)
    elapsed = await _timed_send(transport, "https://api.test/")
    assert 0.9 <= elapsed < 2.5
    assert resolver.asked == ["api.test"]
