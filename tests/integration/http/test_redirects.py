"""Redirects are outcomes, never followed: a signed request is not re-sent elsewhere."""

from __future__ import annotations

import pytest
from aiohttp import web

from callout.http import AiohttpTransport, OutboundRequest
from integration.http.loopback import StartServer


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_returned_as_is_and_its_target_gets_no_hit(
    status: int, start_server: StartServer, loopback_transport: AiohttpTransport
) -> None:
    server = await start_server()

    async def moved(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": "/new"}, text="moved")

    server.routes["/old"] = moved
    response = await loopback_transport.send(
        OutboundRequest("POST", server.url("/old"), body=b'{"x":1}')
    )
    assert response.status == status
    assert response.header("location") == "/new"
    assert response.body == b"moved"
    assert server.hits_on("/new") == []
    assert len(server.hits_on("/old")) == 1
