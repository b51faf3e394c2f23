"""The byte cap: the decoded body is read as a stream and reading stops at the cap."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable

import pytest
from aiohttp import web

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import ResponseTooLarge
from integration.http.loopback import StartServer

MIB = 1024 * 1024


@pytest.fixture
def capped(
    loopback_config: TransportConfig, make_transport: Callable[..., AiohttpTransport]
) -> AiohttpTransport:
    return make_transport(
        TransportConfig(
            allowed_networks=loopback_config.allowed_networks,
            ca_bundle=loopback_config.ca_bundle,
            max_response_bytes=MIB,
        )
    )


async def test_a_100_mb_stream_stops_at_the_cap_long_before_the_server_is_done(
    start_server: StartServer, capped: AiohttpTransport
) -> None:
    server = await start_server()
    written = 0
    finished = asyncio.Event()

    async def flood(request: web.Request) -> web.StreamResponse:
        nonlocal written
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = b"x" * (64 * 1024)
        try:
            for _ in range(1600):  # 100 MiB if nobody stopped reading
                await response.write(chunk)
                written += len(chunk)
                # Let the loop run: a write into a connection already lost
                # returns at once (asyncio drops the data), so only a yield
                # lets the server see that the client hung up.
                await asyncio.sleep(0)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            finished.set()
        return response

    server.routes["/flood"] = flood
    with pytest.raises(ResponseTooLarge, match="cap of 1048576 bytes") as caught:
        await capped.send(OutboundRequest("GET", server.url("/flood")))
    assert not caught.value.retryable
    # The server notices the closed connection at its next write.
    await asyncio.wait_for(finished.wait(), 5)
    assert written < 16 * MIB


async def test_a_gzip_bomb_is_stopped_at_the_cap_on_decoded_bytes(
    start_server: StartServer, capped: AiohttpTransport
) -> None:
    server = await start_server()
    bomb = gzip.compress(b"\0" * (64 * MIB))
    assert len(bomb) < MIB // 4  # the wire size alone would pass the cap

    async def gzipped(_request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
        )

    server.routes["/bomb"] = gzipped
    with pytest.raises(ResponseTooLarge, match="decoded"):
        await capped.send(OutboundRequest("GET", server.url("/bomb")))


async def test_a_compressed_body_under_the_cap_is_returned_decoded(
    start_server: StartServer, capped: AiohttpTransport
) -> None:
    server = await start_server()
    text = b'{"items": "' + b"a" * 500_000 + b'"}'

    async def deflated(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=zlib.compress(text), headers={"Content-Encoding": "deflate"})

    server.routes["/small"] = deflated
    response = await capped.send(OutboundRequest("GET", server.url("/small")))
    assert response.body == text


async def test_a_content_length_over_the_cap_is_refused_before_reading_the_body(
    start_server: StartServer, capped: AiohttpTransport
) -> None:
    server = await start_server()

    async def announced(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(50 * MIB)})
        await response.prepare(request)
        await response.write(b"x" * 1024)
        await asyncio.sleep(10)  # the client must not wait for the rest
        return response

    server.routes["/announced"] = announced
    with pytest.raises(ResponseTooLarge, match="announces 52428800 bytes"):
        await capped.send(OutboundRequest("GET", server.url("/announced"), timeout=5))


async def test_a_body_exactly_at_the_cap_is_accepted(
    start_server: StartServer, capped: AiohttpTransport
) -> None:
    server = await start_server()

    async def exact(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"y" * MIB)

    server.routes["/exact"] = exact
    response = await capped.send(OutboundRequest("GET", server.url("/exact")))
    assert len(response.body) == MIB
