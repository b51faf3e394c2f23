"""Every JSON request body is read by callout's one JSON reader before any route sees it.

An ASGI middleware, inside the body cap (`limits.BodyLimit`, which has already read
the body): a body FastAPI would decode as JSON (no content type, `application/json`
or `application/*+json`, as FastAPI decides) is first parsed by
`model.json_input.parse_json_value`. A body nested past 64 levels, with a lone
surrogate, invalid UTF-8, NaN or Infinity, a number that overflows (`1e400`), an
integer out of the 64-bit ranges, a duplicate key or bad syntax gets 422
`invalid_request` with the path (`body.document.name`), before any route runs: so
nothing is stored, and no route, model or store ever holds such a value.

A middleware rather than a custom route class: it covers every route, present and
future, in one place; FastAPI turns any decoding error other than its own into a
bare 400 without a path. The body is parsed twice (here, then by FastAPI), except on
the trigger routes' shortcut, which reads the value parsed here (`shortcuts.py`);
bodies are at most 2 MiB, and a large one is parsed here on a thread, off the event loop.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callout.api.errors import error_response
from callout.model.errors import Problem
from callout.model.json_input import JsonInputError, parse_json_value

PARSE_ON_THREAD_BYTES = 64 * 1024
"""A JSON body larger than this is checked on a thread, so the event loop stays free."""

PARSED_BODY = "callout.json_body"
"""Where in the ASGI scope the parsed body is left, for a route that reads it (`shortcuts.py`)."""


def _is_json(content_type: bytes | None) -> bool:
    """Say whether FastAPI would decode a body of this content type as JSON."""
    if content_type is None:
        return True
    kind = content_type.split(b";", 1)[0].strip().lower()
    if not kind:
        return True
    main, _, sub = kind.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


def body_path(path: str) -> str:
    """Return a JSON reader's path (`$.a[0]`) as a request path (`body.a[0]`)."""
    rest = path.removeprefix("$")
    return "body" + (rest if not rest or rest[0] in ".[" else "." + rest)


class JsonBodies:
    """ASGI middleware: refuse a JSON request body that callout's JSON reader refuses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body, or answer 422 with the path."""
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        if scope["type"] != "http" or not _is_json(headers.get(b"content-type")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; let the app see it as it would have.
                await self.app(scope, _replay(b"".join(chunks), receive, message), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            try:
                if len(body) > PARSE_ON_THREAD_BYTES:
                    scope[PARSED_BODY] = await asyncio.to_thread(parse_json_value, body)
                else:
                    scope[PARSED_BODY] = parse_json_value(body)
            except JsonInputError as exc:
                problem = Problem(body_path(exc.path) if exc.path else "body", exc.message)
                response = error_response(
                    422, "invalid_request", "the request has 1 problem(s)", [problem]
                )
                await response(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive, then: Message | None = None) -> Receive:
    """Return a `receive` that gives the body read so far, then what comes after it."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered, then
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": then is not None}
        if then is not None:
            message, then = then, None
            return message
        return await receive()

    return replay
