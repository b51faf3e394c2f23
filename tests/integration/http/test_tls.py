"""TLS: the name stays the SNI and Host, the certificate must verify, plain http is opt-in."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path

import pytest
import trustme

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import GuardError, RequestRejected, TLSError
from integration.http.loopback import ConnectionSpy, ScriptedResolver, StartServer


async def test_a_name_resolved_to_loopback_keeps_its_sni_and_host_and_its_certificate_verifies(
    start_server: StartServer,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server()
    transport = make_transport(loopback_config, resolver=ScriptedResolver([["127.0.0.1"]]))
    response = await transport.send(OutboundRequest("GET", server.url("/who", host="api.test")))
    assert response.status == 200
    assert server.sni_seen == ["api.test"]
    (hit,) = server.hits
    assert hit.host == f"api.test:{server.port}"


async def test_a_certificate_from_an_untrusted_ca_is_a_tls_error(
    start_server: StartServer,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server(ca=trustme.CA())
    transport = make_transport(loopback_config)
    with pytest.raises(TLSError, match=r"certificate of 127\.0\.0\.1:\d+ did not verify") as caught:
        await transport.send(OutboundRequest("GET", server.url("/")))
    assert not caught.value.retryable
    assert server.hits == []


async def test_a_certificate_for_another_name_is_a_tls_error(
    start_server: StartServer,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server()
    transport = make_transport(loopback_config, resolver=ScriptedResolver([["127.0.0.1"]]))
    with pytest.raises(TLSError, match="did not verify"):
        await transport.send(OutboundRequest("GET", server.url("/", host="other.test")))
    assert server.hits == []


async def test_without_the_ca_bundle_the_test_ca_is_not_trusted(
    start_server: StartServer, make_transport: Callable[..., AiohttpTransport]
) -> None:
    server = await start_server()
    transport = make_transport(TransportConfig(allowed_networks=(ip_network("127.0.0.1/32"),)))
    with pytest.raises(TLSError):
        await transport.send(OutboundRequest("GET", server.url("/")))


async def test_plain_http_is_refused_by_default_before_anything_is_sent(
    start_server: StartServer,
    connections: ConnectionSpy,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server(tls=False)
    transport = make_transport(loopback_config)
    with pytest.raises(RequestRejected, match="CALLOUT_ALLOW_HTTP=1"):
        await transport.send(OutboundRequest("GET", server.url("/")))
    assert connections.attempts == []
    assert server.hits == []


async def test_plain_http_goes_through_when_the_operator_allows_it(
    start_server: StartServer,
    ca_bundle: Path,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server(tls=False)
    config = TransportConfig.from_env(
        {"CALLOUT_ALLOW_HTTP": "1", "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32"}
    )
    response = await make_transport(config).send(OutboundRequest("GET", server.url("/")))
    assert response.status == 200
    assert len(server.hits) == 1


async def test_plain_http_still_goes_through_the_address_guard(
    connections: ConnectionSpy, make_transport: Callable[..., AiohttpTransport]
) -> None:
    transport = make_transport(TransportConfig(allow_http=True))
    with pytest.raises(GuardError, match="refused by the address guard"):
        await transport.send(OutboundRequest("GET", "http://169.254.169.254/latest/meta-data/"))
    assert connections.attempts == []
