"""The aiohttp resolver bridge: one look-up, every address checked, exactly those returned."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from ipaddress import ip_network

import pytest

from callout.http import AddressGuard
from callout.http._guarded_resolver import GuardedResolver
from callout.model.errors import ConnectError, GuardError


@dataclass
class Scripted:
    answers: list[list[str]]
    asked: list[tuple[str, int]] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


async def test_a_rebinding_resolver_is_asked_once_and_its_first_answer_is_what_aiohttp_gets() -> (
    None
):
    resolver = Scripted([["93.184.216.34"], ["127.0.0.1"]])
    results = await GuardedResolver(resolver, AddressGuard()).resolve("api.example.com", 443)
    assert resolver.asked == [("api.example.com", 443)]
    assert [(r["host"], r["hostname"], r["port"]) for r in results] == [
        ("93.184.216.34", "api.example.com", 443)
    ]


async def test_every_checked_address_is_returned_with_its_family_and_nothing_else() -> None:
    resolver = Scripted([["2606:4700::1", "93.184.216.34"]])
    results = await GuardedResolver(resolver, AddressGuard()).resolve("api.example.com", 443)
    assert [(r["host"], r["family"]) for r in results] == [
        ("2606:4700::1", socket.AF_INET6),
        ("93.184.216.34", socket.AF_INET),
    ]
    # Numeric flags: the socket layer must not look the answers up again.
    assert all(r["flags"] & socket.AI_NUMERICHOST for r in results)


async def test_one_refused_address_refuses_the_whole_look_up() -> None:
    resolver = Scripted([["93.184.216.34", "10.0.0.1"]])
    with pytest.raises(GuardError, match=r"api\.example\.com resolves to 10\.0\.0\.1, which is in"):
        await GuardedResolver(resolver, AddressGuard()).resolve("api.example.com", 443)


async def test_an_answer_in_an_odd_spelling_is_canonicalised_and_checked() -> None:
    opened = AddressGuard([ip_network("127.0.0.1/32")])
    results = await GuardedResolver(Scripted([["2130706433"]]), opened).resolve("a.test", 443)
    assert [r["host"] for r in results] == ["127.0.0.1"]
    with pytest.raises(GuardError):
        await GuardedResolver(Scripted([["0x7f.1"]]), AddressGuard()).resolve("a.test", 443)


async def test_an_answer_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(GuardError, match="not an IP address"):
        await GuardedResolver(Scripted([["evil.example"]]), AddressGuard()).resolve("a.test", 1)


async def test_no_answer_is_a_connect_error() -> None:
    with pytest.raises(ConnectError, match="no address"):
        await GuardedResolver(Scripted([[]]), AddressGuard()).resolve("a.test", 443)
