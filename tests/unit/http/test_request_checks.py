"""What the transport refuses before it touches the network (no server, no look-up)."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.http.aiohttp_transport import CHECKED_URLS
from callout.model.errors import GuardError, RequestRejected


@dataclass
class NeverAsked:
    asked: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        raise AssertionError("the resolver must not be asked")


@pytest.fixture
def resolver() -> NeverAsked:
    return NeverAsked()


@pytest.fixture
async def transport(resolver: NeverAsked) -> AsyncIterator[AiohttpTransport]:
    real = AiohttpTransport(TransportConfig(), resolver=resolver)
    yield real
    await real.aclose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.example.com/", "plain http is not allowed"),
        ("ftp://api.example.com/", "scheme must be https, not 'ftp'"),
        ("file:///etc/passwd", "scheme must be https"),
        ("api.example.com/path", "scheme must be https"),
        ("https://user:pass@api.example.com/", "must not carry a user name or password"),
        ("https://user@api.example.com/", "must not carry a user name or password"),
        ("https:///path", "no host"),
        ("https://1.2.3.4.5/", "host is not valid"),
        ("https://[fe80::1%25eth0]/", "zone id"),
        ("https://api.example.com:99999/", "not valid"),
    ],
)
async def test_a_url_that_breaks_a_rule_is_rejected_without_a_look_up(
    url: str, message: str, transport: AiohttpTransport, resolver: NeverAsked
) -> None:
    with pytest.raises(RequestRejected, match=message):
        await transport.send(OutboundRequest("GET", url))
    assert resolver.asked == []


async def test_a_rejected_url_is_not_quoted_in_the_message(transport: AiohttpTransport) -> None:
    with pytest.raises(RequestRejected) as caught:
        await transport.send(OutboundRequest("GET", "https://user:hunter2@api.example.com/"))
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ((("X-Evil", "a\r\nX-Injected: 1"),), "header X-Evil contains CR, LF or NUL"),
        ((("X-Evil", "a\nb"),), "CR, LF or NUL"),
        ((("X-Evil", "a\x00b"),), "CR, LF or NUL"),
        ((("X-Evil", "a\x12b"),), "header X-Evil contains a control character"),
        ((("X-Evil", "a\x7fb"),), "control character"),
        ((("Bad Name", "v"),), "header #1 has an invalid name"),
        ((("", "v"),), "invalid name"),
    ],
)
async def test_a_header_that_could_smuggle_another_is_rejected(
    headers: tuple[tuple[str, str], ...], message: str, transport: AiohttpTransport
) -> None:
    with pytest.raises(RequestRejected, match=message) as caught:
        await transport.send(OutboundRequest("GET", "https://api.example.com/", headers))
    assert "Injected" not in str(caught.value)


async def test_a_method_that_is_not_a_token_is_rejected(transport: AiohttpTransport) -> None:
    with pytest.raises(RequestRejected, match="method"):
        await transport.send(OutboundRequest("GET /x HTTP/1.1\r\n", "https://api.example.com/"))


async def test_a_literal_host_is_judged_without_the_resolver(
    transport: AiohttpTransport, resolver: NeverAsked
) -> None:
    with pytest.raises(GuardError, match=r"169\.254\.169\.254"):
        await transport.send(OutboundRequest("GET", "https://169.254.169.254/latest/meta-data/"))
    assert resolver.asked == []


def test_an_unreadable_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    bundle = tmp_path / "not-a-ca.pem"
    bundle.write_text("not a certificate")
    with pytest.raises(ValueError, match="CALLOUT_CA_BUNDLE"):
        AiohttpTransport(TransportConfig(ca_bundle=bundle))


def test_building_a_transport_needs_no_running_event_loop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no running event loop" deprecation either
        transport = AiohttpTransport(TransportConfig())
    assert isinstance(transport, AiohttpTransport)


async def test_a_refused_literal_is_refused_again_on_the_next_attempt(
    transport: AiohttpTransport,
) -> None:
    for _ in range(2):  # a refusal is never remembered as a checked URL
        with pytest.raises(GuardError, match=r"169\.254\.169\.254"):
            await transport.send(OutboundRequest("GET", "https://169.254.169.254/"))


@dataclass
class AnswersBlocked:
    """A resolver whose every answer is a private address the guard refuses."""

    asked: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return ["10.1.2.3"]


async def test_a_remembered_url_is_still_guarded_at_each_look_up_and_the_memory_is_bounded() -> (
    None
):
    resolver = AnswersBlocked()
    transport = AiohttpTransport(TransportConfig(), resolver=resolver)
    try:
        urls = [f"https://host-{n}.example.com/" for n in range(CHECKED_URLS + 10)]
        for url in [*urls, urls[-1]]:
            with pytest.raises(GuardError, match=r"10\.1\.2\.3"):
                await transport.send(OutboundRequest("GET", url))
        # The name sent twice was looked up and judged twice, not once and remembered.
        assert resolver.asked.count(f"host-{CHECKED_URLS + 9}.example.com") == 2
        assert len(transport._checked) <= CHECKED_URLS
    finally:
        await transport.aclose()
