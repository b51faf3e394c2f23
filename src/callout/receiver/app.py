"""The receiver's aiohttp application: read, check the signature, record, decide, answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from callout.model.clock import Clock, SystemClock
from callout.receiver.behaviour import Arrival, DefaultAnswer, FlakyCounts, decide
from callout.receiver.certificates import certificate_subject
from callout.receiver.recording import IDEMPOTENCY_HEADER, ReceivedRequest, SignatureCheck

MAX_REQUEST_BYTES = 16 * 1024 * 1024

RECEIVED = web.AppKey("received", list[ReceivedRequest])
"""The app's record of every request, oldest first."""

RequestHook = Callable[[ReceivedRequest], None]


@dataclass(frozen=True, slots=True)
class ReceiverSettings:
    """How the receiver checks signatures, and what it answers when no route applies."""

    signatures: SignatureCheck = field(default_factory=SignatureCheck)
    default: DefaultAnswer = field(default_factory=DefaultAnswer)


def build_receiver_app(
    settings: ReceiverSettings,
    *,
    on_request: RequestHook | None = None,
    clock: Clock | None = None,
) -> web.Application:
    """Return the receiver app: every path and method lands in one handler.

    Each request is recorded in `app[RECEIVED]` and passed to `on_request` (to print
    it) as soon as its answer is decided, before any delay.
    """
    time_source: Clock = clock or SystemClock()
    received: list[ReceivedRequest] = []
    counts = FlakyCounts()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        now = time_source.now()
        verdict = settings.signatures.check(request.headers, body, now)
        arrival = Arrival(
            method=request.method,
            path=request.path,
            body=body,
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
            received_at=now,
        )
        answer = decide(settings.default, arrival, counts)
        record = ReceivedRequest(
            received_at=now,
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            headers=request.headers,
            body=body,
            signature=verdict,
            status=answer.status,
            note=answer.note,
            delay=answer.delay,
            client_certificate=_client_subject(request),
        )
        received.append(record)
        if on_request is not None:
            on_request(record)
        if answer.delay > 0:
            await time_source.sleep(answer.delay)
        return web.Response(
            status=answer.status,
            body=answer.body or None,
            content_type=answer.content_type,
            headers=dict(answer.headers),
        )

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[RECEIVED] = received
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _client_subject(request: web.Request) -> str | None:
    transport = request.transport
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    der = tls.getpeercert(binary_form=True) if tls is not None else None
    return certificate_subject(der) if der else None
