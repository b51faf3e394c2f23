"""The address guard end to end: refused targets get no connection, not even a SYN."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import ConnectError, GuardError
from integration.http.loopback import (
    ConnectionSpy,
    LoopbackServer,
    RawServer,
    ScriptedResolver,
    StartRawServer,
    StartServer,
)

# security.md's hostile-target table. `localhost` resolves (through the test
# resolver) to 127.0.0.1 and ::1; the rest are literals the resolver never sees.
HOSTILE_HOSTS = [
    "127.0.0.1",
    "localhost",
    "169.254.169.254",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[64:ff9b::a00:1]",
    "[2002:a00:1::1]",
    "100.64.0.1",
    "[fd00:ec2::254]",
    "0.0.0.0",  # noqa: S104  (a target under test, not a bind)
    "0x7f.1",
    "2130706433",
    # More spellings of loopback a resolver would accept.
    "017700000001",
    "127.1",
    "127.0.0.1.",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits, folded by IDNA
]


@pytest.fixture
async def listener(start_raw_server: StartRawServer) -> RawServer:
    """A plain TCP listener on 127.0.0.1 that counts every connection it accepts."""

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await start_raw_server(hang_up, tls=False)


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
async def test_hostile_target_is_refused_before_any_connection(
    host: str,
    listener: RawServer,
    connections: ConnectionSpy,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    resolver = ScriptedResolver([["127.0.0.1", "::1"]])
    transport = make_transport(TransportConfig(), resolver=resolver)
    with pytest.raises(GuardError, match="refused by the address guard"):
        await transport.send(OutboundRequest("GET", f"https://{host}:{listener.port}/"))
    assert connections.attempts == []
    assert listener.accepted == 0
    # Only a name is looked up; a literal never reaches the resolver.
    assert resolver.asked == ([("localhost", listener.port)] if host == "localhost" else [])


async def test_guard_message_names_the_address_the_network_and_the_way_out(
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    transport = make_transport(TransportConfig())
    with pytest.raises(GuardError) as caught:
        await transport.send(OutboundRequest("GET", "https://2130706433/"))
    assert str(caught.value) == (
        "127.0.0.1 is in 127.0.0.0/8 (loopback), refused by the address guard; "
        "an operator can allow it with CALLOUT_ALLOWED_NETWORKS"
    )


async def test_a_name_with_one_refused_address_among_public_ones_is_refused_whole(
    connections: ConnectionSpy, make_transport: Callable[..., AiohttpTransport]
) -> None:
    resolver = ScriptedResolver([["93.184.216.34", "10.0.0.1"]])
    transport = make_transport(TransportConfig(), resolver=resolver)
    with pytest.raises(GuardError, match=r"api\.example\.com resolves to 10\.0\.0\.1, which is in"):
        await transport.send(OutboundRequest("GET", "https://api.example.com/"))
    assert connections.attempts == []


async def test_rebinding_resolver_is_asked_once_and_the_first_answer_is_connected_to(
    connections: ConnectionSpy, make_transport: Callable[..., AiohttpTransport]
) -> None:
    # The public answer is never really connected to: the spy refuses the
    # connect and records where it would have gone.
    resolver = ScriptedResolver([["93.184.216.34"], ["127.0.0.1"]])
    transport = make_transport(TransportConfig(), resolver=resolver)
    with pytest.raises(ConnectError, match=r"could not connect to api\.example\.com:443"):
        await transport.send(OutboundRequest("GET", "https://api.example.com/"))
    assert resolver.asked == [("api.example.com", 443)]
    assert connections.attempts == [("93.184.216.34", 443)]


async def test_rebinding_to_a_private_address_after_an_allowed_one_reaches_the_checked_one(
    start_server: StartServer,
    connections: ConnectionSpy,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server: LoopbackServer = await start_server()
    resolver = ScriptedResolver([["127.0.0.1"], ["10.0.0.1"]])
    transport = make_transport(loopback_config, resolver=resolver)
    response = await transport.send(OutboundRequest("GET", server.url("/", host="api.test")))
    assert response.status == 200
    assert resolver.asked == [("api.test", server.port)]
    assert connections.attempts == [("127.0.0.1", server.port)]
    assert len(server.hits) == 1


async def test_a_new_connection_is_checked_again_and_a_rebound_answer_refused(
    start_server: StartServer,
    connections: ConnectionSpy,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server()
    resolver = ScriptedResolver([["127.0.0.1"], ["10.0.0.1"]])
    transport = make_transport(loopback_config, resolver=resolver)
    await transport.send(OutboundRequest("GET", server.url("/", host="api.test")))
    await transport.aclose()  # drop the pooled connection: the next one is new
    with pytest.raises(
        GuardError,
        match=r"api\.test resolves to 10\.0\.0\.1, which is in 10\.0\.0\.0/8 \(private\)",
    ):
        await transport.send(OutboundRequest("GET", server.url("/", host="api.test")))
    assert len(resolver.asked) == 2
    assert connections.attempts == [("127.0.0.1", server.port)]


async def test_allowed_networks_from_the_environment_open_loopback_and_nothing_else(
    start_server: StartServer,
    connections: ConnectionSpy,
    ca_bundle: object,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server()
    config = TransportConfig.from_env(
        {"CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32", "CALLOUT_CA_BUNDLE": str(ca_bundle)}
    )
    transport = make_transport(config)
    response = await transport.send(OutboundRequest("GET", server.url("/")))
    assert response.status == 200
    for host in ("127.0.0.2", "[::1]", "10.0.0.1", "169.254.169.254"):
        with pytest.raises(GuardError):
            await transport.send(OutboundRequest("GET", f"https://{host}:{server.port}/"))
    assert connections.attempts == [("127.0.0.1", server.port)]
    assert len(server.hits) == 1
