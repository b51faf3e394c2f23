"""SystemResolver: getaddrinfo's answers as IP strings; a failure or no answer is a ConnectError."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from callout.http import SystemResolver
from callout.model.errors import ConnectError


def _info(family: socket.AddressFamily, address: str, port: int) -> Any:
    sockaddr = (address, port) if family == socket.AF_INET else (address, port, 0, 0)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


async def test_answers_are_returned_in_order_without_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[Any, ...]] = []

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        asked.append((host, port, kwargs.get("type")))
        return [
            _info(socket.AF_INET6, "2606:4700::1", port),
            _info(socket.AF_INET, "93.184.216.34", port),
            _info(socket.AF_INET, "93.184.216.34", port),
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    assert await SystemResolver().resolve("api.example.com", 443) == [
        "2606:4700::1",
        "93.184.216.34",
    ]
    assert asked == [("api.example.com", 443, socket.SOCK_STREAM)]


async def test_a_failed_look_up_is_a_retryable_connect_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def getaddrinfo(*_args: Any, **_kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(ConnectError) as caught:
        await SystemResolver().resolve("api.example.com", 443)
    assert str(caught.value) == "could not resolve api.example.com: Name or service not known"
    assert caught.value.retryable


async def test_a_look_up_with_no_address_is_a_connect_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def getaddrinfo(*_args: Any, **_kwargs: Any) -> list[Any]:
        return []

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(ConnectError, match="returned no address"):
        await SystemResolver().resolve("api.example.com", 443)


async def test_the_real_system_resolver_answers_localhost_from_the_hosts_file() -> None:
    answers = await SystemResolver().resolve("localhost", 443)
    assert answers
    assert set(answers) <= {"127.0.0.1", "::1"}
