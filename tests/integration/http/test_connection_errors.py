"""Failures below HTTP become retryable connection errors that name the host, nothing more."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import ConnectError
from integration.http.loopback import FailingResolver, StartRawServer

SECRET = "Bearer tok_very_secret"


def _request(url: str) -> OutboundRequest:
    return OutboundRequest(
        "POST", url, headers=(("Authorization", SECRET),), body=b'{"card":"4242"}', timeout=5
    )


def _assert_no_secret(error: BaseException) -> None:
    assert SECRET not in str(error)
    assert "4242" not in str(error)


async def test_a_closed_port_is_a_retryable_connection_error(
    unused_port: int, loopback_transport: AiohttpTransport
) -> None:
    with pytest.raises(
        ConnectError, match=rf"could not connect to 127\.0\.0\.1:{unused_port}"
    ) as caught:
        await loopback_transport.send(_request(f"https://127.0.0.1:{unused_port}/"))
    assert caught.value.retryable
    _assert_no_secret(caught.value)


async def test_a_failed_look_up_is_a_retryable_connection_error(
    loopback_config: TransportConfig, make_transport: Callable[..., AiohttpTransport]
) -> None:
    resolver = FailingResolver()
    transport = make_transport(loopback_config, resolver=resolver)
    with pytest.raises(ConnectError, match=r"could not resolve api\.example\.com") as caught:
        await transport.send(_request("https://api.example.com/"))
    assert caught.value.retryable
    assert resolver.asked == ["api.example.com"]


async def test_the_system_resolver_failing_is_a_connection_error_through_the_transport(
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_such_name(*_args: Any, **_kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_such_name)
    transport = make_transport(loopback_config)  # the default SystemResolver
    with pytest.raises(
        ConnectError, match=r"could not resolve nowhere\.invalid: Name or service not known"
    ):
        await transport.send(_request("https://nowhere.invalid/"))


async def test_a_server_that_hangs_up_mid_response_is_a_connection_error(
    start_raw_server: StartRawServer, loopback_transport: AiohttpTransport
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()

    server = await start_raw_server(hang_up)
    with pytest.raises(ConnectError, match=r"127\.0\.0\.1:\d+") as caught:
        await loopback_transport.send(_request(f"https://127.0.0.1:{server.port}/"))
    assert caught.value.retryable
    _assert_no_secret(caught.value)


async def test_a_server_that_closes_without_answering_is_a_connection_error(
    start_raw_server: StartRawServer, loopback_transport: AiohttpTransport
) -> None:
    async def close_at_once(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")

    server = await start_raw_server(close_at_once)
    with pytest.raises(ConnectError, match="closed the connection") as caught:
        await loopback_transport.send(_request(f"https://127.0.0.1:{server.port}/"))
    _assert_no_secret(caught.value)


async def test_a_malformed_response_is_a_connection_error(
    start_raw_server: StartRawServer, loopback_transport: AiohttpTransport
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    server = await start_raw_server(garbage)
    with pytest.raises(ConnectError, match="malformed response"):
        await loopback_transport.send(_request(f"https://127.0.0.1:{server.port}/"))
