"""MockTransport: the test seam records every request and answers with the handler's response."""

from __future__ import annotations

import pytest

from callout.http import InboundResponse, MockTransport, OutboundRequest, Transport
from callout.model.errors import AttemptTimeout


async def test_a_plain_handler_answers_and_every_request_is_recorded() -> None:
    transport = MockTransport(lambda request: InboundResponse(200, body=request.body))
    first = OutboundRequest("POST", "https://api.example.com/a", (("X", "1"),), b"one")
    second = OutboundRequest("GET", "https://api.example.com/b")
    assert (await transport.send(first)).body == b"one"
    assert (await transport.send(second)).status == 200
    assert transport.requests == [first, second]


async def test_an_async_handler_is_awaited() -> None:
    async def handler(request: OutboundRequest) -> InboundResponse:
        return InboundResponse(201, headers=(("Location", request.url),))

    response = await MockTransport(handler).send(OutboundRequest("POST", "https://x.example/"))
    assert (response.status, response.header("location")) == (201, "https://x.example/")


async def test_a_handler_that_raises_plays_a_failed_attempt_and_the_request_is_still_recorded() -> (
    None
):
    def handler(_request: OutboundRequest) -> InboundResponse:
        raise AttemptTimeout("no complete response within 1 s")

    transport = MockTransport(handler)
    with pytest.raises(AttemptTimeout):
        await transport.send(OutboundRequest("GET", "https://x.example/"))
    assert len(transport.requests) == 1


async def test_it_satisfies_the_transport_protocol_and_closes() -> None:
    transport: Transport = MockTransport(lambda _r: InboundResponse(204))
    await transport.aclose()
    assert isinstance(transport, MockTransport)
    assert transport.closed
