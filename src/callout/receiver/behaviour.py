"""What the receiver answers: the default answer, and the routes that show retries and errors.

```
/status/<code>[/...]   answer <code> (200-599)
/delay/<seconds>[/...] wait <seconds> (at most 300), then the default answer
/flaky/<n>[/...]       503 with Retry-After: 1 the first <n> times per Idempotency-Key,
                       then the default answer
/echo                  200 with the received JSON body, plus a generated `id`
anything else          the default answer: --status with --body, after --delay
```

Deciding holds no I/O: the app reads the request, asks `decide`, waits and answers.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from callout.model.timestamps import iso_utc

MAX_DELAY = 300.0
MAX_FLAKY = 100
MAX_FLAKY_KEYS = 10_000
METHODS_THAT_CREATE = frozenset({"POST", "PUT", "PATCH"})
NO_BODY_STATUSES = frozenset({204, 205, 304})
JSON = "application/json"
TEXT = "text/plain"

_ROUTE = re.compile(r"/(?P<route>status|delay|flaky)/(?P<argument>[^/]*)(?:/.*)?")
_ECHO = re.compile(r"/echo/?")
_SMALL_NUMBER = re.compile(r"[0-9]{1,3}")


def new_object_id() -> str:
    """Return an id for a created object, such as `usr_3f9a0c1d2b4e5f60`."""
    return f"usr_{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class DefaultAnswer:
    """The answer to every request no route claims (the receiver's options).

    `body` is sent as JSON when it parses as JSON, else as text; None means
    `{"ok": ..., "received_at": ...}`. On POST, PUT and PATCH a JSON object body
    gains an `id` unless it has one, so a workflow can use `steps.x.body.id`.
    """

    status: int = 200
    body: str | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise ValueError("the status must be 200-599")
        if not (math.isfinite(self.delay) and 0 <= self.delay <= MAX_DELAY):
            raise ValueError(f"the delay must be 0-{MAX_DELAY:g} seconds")


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send back, after how long, and a short note for the request log."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    note: str = ""


@dataclass
class FlakyCounts:
    """How often each `/flaky` path was hit per Idempotency-Key (the oldest keys forgotten)."""

    limit: int = MAX_FLAKY_KEYS
    _counts: OrderedDict[tuple[str, str | None], int] = field(default_factory=OrderedDict)

    def hit(self, path: str, key: str | None) -> int:
        """Count one more request to `path` with `key`; return the count so far."""
        slot = (path, key)
        count = self._counts.pop(slot, 0) + 1
        self._counts[slot] = count
        while len(self._counts) > self.limit:
            self._counts.popitem(last=False)
        return count


@dataclass(frozen=True, slots=True)
class Arrival:
    """The parts of a request that decide the answer."""

    method: str
    path: str
    body: bytes
    idempotency_key: str | None
    received_at: float


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _refuse(message: str) -> Answer:
    return Answer(400, _json_bytes({"error": message}), JSON, note=message)


def _with_body(
    status: int, value: dict[str, Any], arrival: Arrival, new_id: Callable[[], str]
) -> tuple[bytes, str | None]:
    if status in NO_BODY_STATUSES:
        return b"", None
    if arrival.method in METHODS_THAT_CREATE and 200 <= status < 300 and "id" not in value:
        value = {"id": new_id(), **value}
    return _json_bytes(value), JSON


def default_answer(
    default: DefaultAnswer, arrival: Arrival, new_id: Callable[[], str], *, note: str = ""
) -> Answer:
    """Return the default answer to `arrival`, with `note` for the request log."""
    code = default.status
    wait = default.delay
    if default.body is None:
        value = {"ok": 200 <= code < 300, "received_at": iso_utc(arrival.received_at)}
        body, content_type = _with_body(code, value, arrival, new_id)
        return Answer(code, body, content_type, delay=wait, note=note)
    try:
        given = json.loads(default.body)
    except ValueError:
        body = b"" if code in NO_BODY_STATUSES else default.body.encode()
        return Answer(code, body, TEXT if body else None, delay=wait, note=note)
    if isinstance(given, dict):
        body, content_type = _with_body(code, given, arrival, new_id)
        return Answer(code, body, content_type, delay=wait, note=note)
    body = b"" if code in NO_BODY_STATUSES else default.body.encode()
    return Answer(code, body, JSON if body else None, delay=wait, note=note)


def _status_route(
    argument: str, default: DefaultAnswer, arrival: Arrival, new_id: Callable[[], str]
) -> Answer:
    if not _SMALL_NUMBER.fullmatch(argument) or not 200 <= int(argument) <= 599:
        return _refuse(f"/status/<code> takes a status code 200-599, not {argument[:20]!r}")
    code = int(argument)
    value = {"ok": 200 <= code < 300, "status": code, "received_at": iso_utc(arrival.received_at)}
    body, content_type = _with_body(code, value, arrival, new_id)
    return Answer(code, body, content_type, delay=default.delay)


def _delay_route(
    argument: str, default: DefaultAnswer, arrival: Arrival, new_id: Callable[[], str]
) -> Answer:
    try:
        seconds = float(argument)
    except ValueError:
        seconds = -1.0
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_DELAY):
        return _refuse(f"/delay/<seconds> takes 0-{MAX_DELAY:g} seconds, not {argument[:20]!r}")
    waited = replace(default, delay=seconds)
    return default_answer(waited, arrival, new_id, note=f"after a delay of {seconds:g} s")


def _flaky_route(
    argument: str,
    default: DefaultAnswer,
    arrival: Arrival,
    counts: FlakyCounts,
    new_id: Callable[[], str],
) -> Answer:
    if not _SMALL_NUMBER.fullmatch(argument) or int(argument) > MAX_FLAKY:
        return _refuse(f"/flaky/<n> takes a count 0-{MAX_FLAKY}, not {argument[:20]!r}")
    failures = int(argument)
    count = counts.hit(arrival.path, arrival.idempotency_key)
    per = "this Idempotency-Key" if arrival.idempotency_key else "this path (no Idempotency-Key)"
    if count <= failures:
        message = f"flaky: failure {count} of {failures} for {per}"
        body = _json_bytes({"error": message, "retry_after": 1})
        return Answer(503, body, JSON, (("Retry-After", "1"),), delay=default.delay, note=message)
    failed = f"{failures} failure{'s' if failures != 1 else ''}"
    return default_answer(default, arrival, new_id, note=f"flaky: request {count}, after {failed}")


def _echo_route(default: DefaultAnswer, arrival: Arrival, new_id: Callable[[], str]) -> Answer:
    if not arrival.body.strip():
        return Answer(200, _json_bytes({"id": new_id()}), JSON, delay=default.delay, note="echo")
    try:
        received = json.loads(arrival.body)
    except (ValueError, RecursionError):
        return _refuse("/echo expects a JSON body")
    if isinstance(received, dict):
        echoed = {**received, "id": new_id()}
    else:
        echoed = {"id": new_id(), "body": received}
    return Answer(200, _json_bytes(echoed), JSON, delay=default.delay, note="echo")


def decide(
    default: DefaultAnswer,
    arrival: Arrival,
    counts: FlakyCounts,
    new_id: Callable[[], str] = new_object_id,
) -> Answer:
    """Return the answer to `arrival`: a route's when its path names one, else the default."""
    if _ECHO.fullmatch(arrival.path):
        return _echo_route(default, arrival, new_id)
    match = _ROUTE.fullmatch(arrival.path)
    if match is None:
        return default_answer(default, arrival, new_id)
    argument = match["argument"]
    if match["route"] == "status":
        return _status_route(argument, default, arrival, new_id)
    if match["route"] == "delay":
        return _delay_route(argument, default, arrival, new_id)
    return _flaky_route(argument, default, arrival, counts, new_id)
