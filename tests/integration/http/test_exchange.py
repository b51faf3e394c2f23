"""What goes out and what comes back: method, headers in order, body bytes, response pairs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp import web

from callout.http import USER_AGENT, AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import TLSError
from integration.http.loopback import ConnectionSpy, ScriptedResolver, StartServer


async def test_headers_keep_their_order_and_duplicates_and_the_body_is_sent_byte_for_byte(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    body = b'{"n":1,"s":"\xc3\xa9"}'
    headers = (
        ("Content-Type", "application/json"),
        ("X-Tag", "one"),
        ("X-Other", "x"),
        ("X-Tag", "two"),
    )
    await loopback_transport.send(OutboundRequest("PUT", server.url("/t"), headers, body))
    (hit,) = server.hits
    assert (hit.method, hit.path, hit.body) == ("PUT", "/t", body)
    sent = [(name.lower(), value) for name, value in hit.headers]
    assert [v for n, v in sent if n == "x-tag"] == ["one", "two"]
    names = [n for n, _ in sent]
    assert names.index("content-type") < names.index("x-tag") < names.index("x-other")
    assert ("content-type", "application/json") in sent
    assert ("content-length", str(len(body))) in sent
    assert ("user-agent", USER_AGENT) in sent


async def test_only_the_basic_headers_are_added(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    await loopback_transport.send(OutboundRequest("GET", server.url("/")))
    (hit,) = server.hits
    names = {name.lower() for name, _ in hit.headers}
    assert names == {"host", "accept", "accept-encoding", "user-agent"}
    assert USER_AGENT.startswith("callout/")


async def test_a_body_without_content_type_is_not_given_one(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    await loopback_transport.send(OutboundRequest("POST", server.url("/"), body=b"raw"))
    (hit,) = server.hits
    assert "content-type" not in {name.lower() for name, _ in hit.headers}


async def test_a_given_user_agent_is_kept(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    await loopback_transport.send(
        OutboundRequest("GET", server.url("/"), headers=(("user-agent", "crm-sync/2"),))
    )
    (hit,) = server.hits
    assert [v for n, v in hit.headers if n.lower() == "user-agent"] == ["crm-sync/2"]


async def test_the_response_gives_status_header_pairs_body_and_elapsed_seconds(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()

    async def created(_request: web.Request) -> web.StreamResponse:
        response = web.Response(status=201, body=b'{"id":"usr_1"}')
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        response.headers["Content-Type"] = "application/json"
        return response

    server.routes["/users"] = created
    response = await loopback_transport.send(OutboundRequest("POST", server.url("/users")))
    assert response.status == 201
    assert response.body == b'{"id":"usr_1"}'
    assert response.header("content-type") == "application/json"
    assert [v for n, v in response.headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    assert 0 < response.elapsed < 5


async def test_cookies_from_one_response_are_never_sent_with_the_next_request(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()

    async def set_cookie(_request: web.Request) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.set_cookie("session", "from-another-workflow")
        return response

    server.routes["/login"] = set_cookie
    await loopback_transport.send(OutboundRequest("GET", server.url("/login")))
    await loopback_transport.send(OutboundRequest("GET", server.url("/next")))
    assert "cookie" not in {name.lower() for name, _ in server.hits_on("/next")[0].headers}


async def test_a_non_2xx_status_is_a_response_not_an_error(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()

    async def unavailable(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, text="later", headers={"Retry-After": "30"})

    server.routes["/busy"] = unavailable
    response = await loopback_transport.send(OutboundRequest("GET", server.url("/busy")))
    assert (response.status, response.body, response.header("Retry-After")) == (503, b"later", "30")


async def test_a_pooled_connection_is_reused_without_a_second_look_up(
    start_server: StartServer,
    connections: ConnectionSpy,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server()
    resolver = ScriptedResolver([["127.0.0.1"]])
    transport = make_transport(loopback_config, resolver=resolver)
    for _ in range(3):
        await transport.send(OutboundRequest("GET", server.url("/", host="api.test")))
    assert len(resolver.asked) == 1
    assert connections.attempts == [("127.0.0.1", server.port)]
    assert len(server.hits) == 3


async def test_the_transport_can_be_used_again_after_aclose(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    await loopback_transport.send(OutboundRequest("GET", server.url("/")))
    await loopback_transport.aclose()
    await loopback_transport.aclose()  # closing twice is harmless
    response = await loopback_transport.send(OutboundRequest("GET", server.url("/")))
    assert response.status == 200


async def test_the_path_and_query_are_sent_exactly_as_encoded(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    path = "/users/inq%2F1%202%7E?name=Ada%20%26%20co&plus=a+b"
    await loopback_transport.send(OutboundRequest("GET", server.url(path)))
    (hit,) = server.hits
    assert hit.raw_path == path


async def test_an_international_name_is_looked_up_and_sent_in_its_ascii_form(
    start_server: StartServer,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server()
    resolver = ScriptedResolver([["127.0.0.1"]])
    transport = make_transport(loopback_config, resolver=resolver)
    with pytest.raises(TLSError):  # the test certificate does not name it
        await transport.send(OutboundRequest("GET", server.url("/", host="B\u00fccher.test")))
    assert resolver.asked == [("xn--bcher-kva.test", server.port)]
    assert server.sni_seen == ["xn--bcher-kva.test"]
