"""The outbound transport: address guard, TLS, one timeout, a byte cap.

`Transport` is the one-method contract the step layer calls; `AiohttpTransport`
is the real implementation and `callout.http.testing.MockTransport` the test
seam. See docs/transport.md for the behaviours and the tests that prove them.
"""

from callout.http.aiohttp_transport import USER_AGENT, AiohttpTransport
from callout.http.config import DEFAULT_MAX_RESPONSE_BYTES, TransportConfig, allow_http_from
from callout.http.guard import REFUSED_NETWORKS, AddressGuard
from callout.http.literal import parse_ip_literal
from callout.http.resolver import Resolver, SystemResolver
from callout.http.testing import MockTransport
from callout.http.transport import InboundResponse, OutboundRequest, Transport

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "REFUSED_NETWORKS",
    "USER_AGENT",
    "AddressGuard",
    "AiohttpTransport",
    "InboundResponse",
    "MockTransport",
    "OutboundRequest",
    "Resolver",
    "SystemResolver",
    "Transport",
    "TransportConfig",
    "allow_http_from",
    "parse_ip_literal",
]
