"""Following redirects when the request asks: each hop guarded, credentials kept to their origin.

By default nothing is followed (test_redirects.py); here `follow_redirects` is set.
Two loopback servers on different ports are two origins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest
from aiohttp import web

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import AttemptTimeout, GuardError, RequestRejected
from integration.http.loopback import ConnectionSpy, Handler, LoopbackServer, StartServer

SECRET_HEADERS = (
    ("Authorization", "Bearer tok-123"),
    ("Cookie", "sid=abc"),
    ("Persona-Signature", "t=1,v1=deadbeef"),
    ("X-Api-Key", "key-456"),
    ("Idempotency-Key", "stp_1"),
)
BOUND = frozenset({"persona-signature", "x-api-key"})


def redirect(status: int, location: str, body: bytes = b"moved") -> Handler:
    async def answer(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location}, body=body)

    return answer


def header_names(server: LoopbackServer, path: str) -> set[str]:
    (hit,) = server.hits_on(path)
    return {name.lower() for name, _ in hit.headers}


def post(url: str, **fields: object) -> OutboundRequest:
    request = OutboundRequest(
        "POST",
        url,
        headers=(*SECRET_HEADERS, ("Content-Type", "application/json")),
        body=b'{"amount":1}',
        follow_redirects=5,
        origin_bound_headers=BOUND,
        timeout=10,
    )
    return replace(request, **fields)  # type: ignore[arg-type]


async def test_without_follow_redirects_the_url_is_the_requests_own(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    url = server.url("/a%7Eb?q=%20x")
    response = await loopback_transport.send(OutboundRequest("GET", url))
    assert response.url == url


async def test_a_followed_redirect_ends_at_its_target_and_says_so(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/old"] = redirect(302, "/new?page=2")
    response = await loopback_transport.send(
        OutboundRequest("GET", server.url("/old"), follow_redirects=1)
    )
    assert response.status == 200
    assert response.url == server.url("/new?page=2")
    assert [hit.path for hit in server.hits] == ["/old", "/new"]


async def test_a_relative_location_resolves_against_the_current_url(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/v1/a/start"] = redirect(307, "next")
    server.routes["/v1/a/next"] = redirect(307, "../b/end")
    response = await loopback_transport.send(post(server.url("/v1/a/start")))
    assert response.url == server.url("/v1/b/end")
    assert [hit.path for hit in server.hits] == ["/v1/a/start", "/v1/a/next", "/v1/b/end"]


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_303_and_301_302_after_post_become_a_get_without_body(
    status: int, start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/charge"] = redirect(status, "/receipt")
    await loopback_transport.send(post(server.url("/charge")))
    (hit,) = server.hits_on("/receipt")
    assert (hit.method, hit.body) == ("GET", b"")
    assert "content-type" not in header_names(server, "/receipt")


@pytest.mark.parametrize("status", [307, 308])
async def test_307_and_308_keep_the_method_and_the_body(
    status: int, start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/charge"] = redirect(status, "/charge-v2")
    await loopback_transport.send(post(server.url("/charge")))
    (hit,) = server.hits_on("/charge-v2")
    assert (hit.method, hit.body) == ("POST", b'{"amount":1}')


async def test_the_same_origin_keeps_credentials_and_origin_bound_headers(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/a"] = redirect(307, "/b")
    await loopback_transport.send(post(server.url("/a")))
    assert {"authorization", "cookie", "persona-signature", "x-api-key"} <= header_names(
        server, "/b"
    )


async def test_leaving_the_origin_drops_credentials_and_origin_bound_headers_for_good(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    home = await start_server()
    elsewhere = await start_server()
    home.routes["/a"] = redirect(307, elsewhere.url("/b"))
    elsewhere.routes["/b"] = redirect(307, home.url("/c"))
    response = await loopback_transport.send(post(home.url("/a")))
    assert response.url == home.url("/c")
    for server, path in ((elsewhere, "/b"), (home, "/c")):
        names = header_names(server, path)
        assert not names & {"authorization", "cookie", "persona-signature", "x-api-key"}
        assert "idempotency-key" in names
        (hit,) = server.hits_on(path)
        assert hit.body == b'{"amount":1}'


async def test_past_the_limit_the_last_redirect_is_the_answer(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    for hop in range(10):
        server.routes[f"/{hop}"] = redirect(302, f"/{hop + 1}", body=f"hop {hop}".encode())
    response = await loopback_transport.send(
        OutboundRequest("GET", server.url("/0"), follow_redirects=5)
    )
    assert response.status == 302
    assert response.body == b"hop 5"
    assert response.header("location") == "/6"
    assert response.url == server.url("/5")
    assert [hit.path for hit in server.hits] == ["/0", "/1", "/2", "/3", "/4", "/5"]


async def test_a_redirect_without_location_is_the_answer(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()

    async def nowhere(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, text="no location")

    server.routes["/x"] = nowhere
    response = await loopback_transport.send(
        OutboundRequest("GET", server.url("/x"), follow_redirects=5)
    )
    assert (response.status, response.body) == (302, b"no location")


async def test_a_redirect_with_a_body_over_the_cap_is_still_followed(
    start_server: StartServer,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    server = await start_server()
    server.routes["/big"] = redirect(302, "/small", body=b"x" * 200_000)
    transport = make_transport(replace(loopback_config, max_response_bytes=1000))
    response = await transport.send(OutboundRequest("GET", server.url("/big"), follow_redirects=1))
    assert response.status == 200


async def test_https_to_http_is_refused_when_http_is_not_allowed(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    secure = await start_server()
    plain = await start_server(tls=False)
    secure.routes["/a"] = redirect(302, plain.url("/b"))
    with pytest.raises(RequestRejected, match="from https to plain http"):
        await loopback_transport.send(post(secure.url("/a")))
    assert plain.hits == []


async def test_https_to_http_is_followed_when_the_operator_allows_http(
    start_server: StartServer,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    secure = await start_server()
    plain = await start_server(tls=False)
    secure.routes["/a"] = redirect(302, plain.url("/b"))
    transport = make_transport(replace(loopback_config, allow_http=True))
    response = await transport.send(OutboundRequest("GET", secure.url("/a"), follow_redirects=1))
    assert response.url == plain.url("/b")
    assert len(plain.hits) == 1


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("ftp://127.0.0.1/file", "scheme 'ftp'"),
        ("https://admin:hunter2@127.0.0.1/", "user name or password"),
    ],
)
async def test_a_location_that_cannot_be_followed_is_a_clear_error(
    location: str, says: str, start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/a"] = redirect(302, location)
    with pytest.raises(RequestRejected, match=says) as caught:
        await loopback_transport.send(OutboundRequest("GET", server.url("/a"), follow_redirects=5))
    assert "hunter2" not in str(caught.value)


async def test_every_hop_passes_the_address_guard(
    start_server: StartServer, connections: ConnectionSpy, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/a"] = redirect(302, "https://169.254.169.254/latest/meta-data/")
    with pytest.raises(GuardError):
        await loopback_transport.send(OutboundRequest("GET", server.url("/a"), follow_redirects=5))
    assert {host for host, _ in connections.attempts} == {"127.0.0.1"}


async def test_one_timeout_covers_every_hop(
    start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()
    server.routes["/a"] = redirect(302, "/slow")
    released = asyncio.Event()

    async def slow(_request: web.Request) -> web.StreamResponse:
        await released.wait()
        return web.Response(text="late")

    server.routes["/slow"] = slow
    try:
        with pytest.raises(AttemptTimeout, match=r"no complete response within 0\.5 s"):
            await loopback_transport.send(
                OutboundRequest("GET", server.url("/a"), follow_redirects=5, timeout=0.5)
            )
    finally:
        released.set()
    assert [hit.path for hit in server.hits] == ["/a", "/slow"]
