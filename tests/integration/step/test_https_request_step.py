"""The Make HTTPS Request step end to end, against real HTTPS servers on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from callout.engine.report import step_report
from callout.http import AiohttpTransport, TransportConfig
from callout.model.clock import ManualClock, SystemClock
from callout.signing import verify
from callout.store.database import database_url
from callout.store.protocol import StoredRun
from callout.store.sql_store import SqlStore, open_store
from support.https_servers import HttpsServer, reply
from support.migrated_databases import migrated_sqlite_file
from support.running import run_workflow, workflow_of

SECRET = "s3cr3t-signing-key"


def step(step_id: str, url: str, **config: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "make_https_request", "url": url, **config}


@pytest.fixture
async def sqlite_store(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[SqlStore]:
    """A store on a fresh SQLite file; its clock (the database's) is a manual one.

    The attached run shares it, so retry intervals pass at once; `realclock` tests
    keep the host's clock.
    """
    real = request.node.get_closest_marker("realclock") is not None
    clock = None if real else ManualClock(start=time.time())
    path = tmp_path / "callout.db"
    await migrated_sqlite_file(path)  # as if the store had just made and migrated it
    store = await open_store(database_url(str(path)), clock=clock)
    yield store
    await store.close()


async def run(
    store: SqlStore,
    transport: AiohttpTransport,
    *steps: dict[str, Any],
    trigger: Any = None,
    secrets: dict[str, str] | None = None,
    real_clock: bool = False,
) -> StoredRun:
    return await run_workflow(
        workflow_of(*steps),
        transport=transport,
        trigger=trigger,
        secrets=secrets if secrets is not None else {"sig": SECRET},
        clock=SystemClock() if real_clock or store.clock is None else store.clock,
        store=store,
    )


@pytest.mark.parametrize("method", ["DELETE", "GET", "PATCH", "POST", "PUT"])
async def test_each_method_is_sent_signed_with_body_only_where_allowed(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport, method: str
) -> None:
    config: dict[str, Any] = {"method": method, "secret": "{{ secrets.sig }}"}
    if method in ("PATCH", "POST", "PUT"):
        config["body"] = {"n": 1}
    record = await run(sqlite_store, transport, step("a", https_server.url("/thing"), **config))
    assert record.status == "completed"
    (hit,) = https_server.hits
    assert hit.method == method
    expected_body = b'{"n":1}' if "body" in config else b""
    assert hit.body == expected_body
    assert verify(hit.headers["Persona-Signature"], hit.body, SECRET) > 0
    assert ("Content-Type" in hit.headers) == ("body" in config)


async def test_references_are_typed_in_the_body_and_encoded_in_url_and_headers(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    trigger = {
        "data": {
            "id": "inq/1 2",
            "attributes": {
                "name-first": "Ada & co",
                "score": 0.97,
                "verified": True,
                "tags": ["a"],
            },
        }
    }
    record = await run(
        sqlite_store,
        transport,
        step(
            "a",
            https_server.url("/users/{{ trigger.data.id }}")
            + '?name={{ trigger.data.attributes["name-first"] }}',
            headers=[{"key": "X-Score", "value": "score={{ trigger.data.attributes.score }}"}],
            body={
                "score": "{{ trigger.data.attributes.score }}",
                "verified": "{{ trigger.data.attributes.verified }}",
                "tags": "{{ trigger.data.attributes.tags }}",
                "label": '{{ trigger.data.attributes["name-first"] }}!',
                "run": "{{ run.id }}",
            },
        ),
        trigger=trigger,
    )
    assert record.status == "completed", record
    (hit,) = https_server.hits
    assert hit.raw_path == "/users/inq%2F1%202?name=Ada%20%26%20co"
    assert hit.headers["X-Score"] == "score=0.97"
    body = json.loads(hit.body)
    assert body == {
        "score": 0.97,
        "verified": True,
        "tags": ["a"],
        "label": "Ada & co!",
        "run": record.id,
    }


async def test_rotation_signs_with_both_secrets_newest_first(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    await run(
        sqlite_store,
        transport,
        step(
            "a",
            https_server.url("/"),
            body={"x": 1},
            secret=["{{ secrets.new }}", "{{ secrets.old }}"],
        ),
        secrets={"new": "new-key", "old": "old-key"},
    )
    (hit,) = https_server.hits
    header = hit.headers["Persona-Signature"]
    assert len(header.split(" ")) == 2
    assert verify(header, hit.body, "new-key") == verify(header, hit.body, "old-key")


@pytest.mark.realclock
async def test_two_503s_then_200_retry_on_the_intervals_with_one_key(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/flaky", reply(503), reply(503), reply(201, '{"id": "usr_1"}'))
    record = await run(
        sqlite_store,
        transport,
        step(
            "a",
            https_server.url("/flaky"),
            body={"x": 1},
            retry_intervals=[1, 2],
            secret="{{ secrets.sig }}",
        ),
        real_clock=True,
    )
    assert record.status == "completed"
    hits = https_server.hits_on("/flaky")
    assert len(hits) == 3
    assert len({hit.headers["Idempotency-Key"] for hit in hits}) == 1
    assert [hit.headers["Callout-Attempt"] for hit in hits] == ["1", "2", "3"]
    first_wait, second_wait = hits[1].at - hits[0].at, hits[2].at - hits[1].at
    assert first_wait == pytest.approx(1.0, abs=0.3)
    assert second_wait == pytest.approx(2.0, abs=0.3)
    stamps = [verify(hit.headers["Persona-Signature"], hit.body, SECRET) for hit in hits]
    assert stamps[2] > stamps[0]  # a fresh timestamp on each attempt
    output = record.steps[0].output
    assert output is not None
    assert (output["status"], output["body"]) == (201, {"id": "usr_1"})
    assert output["headers"]["content-type"].startswith("application/json")


@pytest.mark.realclock
async def test_retry_waits_for_retry_after_when_longer_than_interval(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/busy", reply(503, headers={"Retry-After": "3"}), reply(200))
    await run(
        sqlite_store,
        transport,
        step("a", https_server.url("/busy"), method="GET", retry_intervals=[1]),
        real_clock=True,
    )
    hits = https_server.hits_on("/busy")
    assert len(hits) == 2
    assert hits[1].at - hits[0].at == pytest.approx(3.0, abs=0.4)


async def test_stalled_server_is_cut_off_at_the_timeout(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/stall", reply(200, delay=4))
    started = time.monotonic()
    record = await run(
        sqlite_store, transport, step("a", https_server.url("/stall"), method="GET", timeout=1)
    )
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.5
    error = record.steps[0].error
    assert error is not None
    assert error["type"] == "timeout"


async def test_trickling_server_is_cut_off_at_the_timeout(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for _ in range(100):
            await response.write(b" ")
            await asyncio.sleep(0.1)
        await response.write_eof()
        return response

    https_server.script("/trickle", trickle)
    started = time.monotonic()
    record = await run(
        sqlite_store, transport, step("a", https_server.url("/trickle"), method="GET", timeout=1)
    )
    assert 0.9 <= time.monotonic() - started < 2.5
    assert record.steps[0].error is not None
    assert record.steps[0].error["type"] == "timeout"


async def test_404_is_not_retried(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/missing", reply(404, '{"error": "no such user"}'))
    record = await run(
        sqlite_store,
        transport,
        step("a", https_server.url("/missing"), method="GET", retry_intervals=[1, 1]),
    )
    assert len(https_server.hits) == 1
    error = record.steps[0].error
    assert error is not None
    assert (error["type"], error["status"], error["body"]) == (
        "http_status",
        404,
        {"error": "no such user"},
    )


async def test_308_is_not_followed(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/old", reply(308, headers={"Location": "/new"}))
    record = await run(
        sqlite_store,
        transport,
        step("a", https_server.url("/old"), body={"x": 1}, retry_intervals=[1]),
    )
    assert https_server.hits_on("/new") == []
    assert len(https_server.hits_on("/old")) == 1
    assert record.status == "failed"
    assert record.steps[0].attempts[0].http_status == 308


async def test_response_over_the_cap_fails_without_reading_it_all(
    sqlite_store: SqlStore, https_server: HttpsServer, transport_config: TransportConfig
) -> None:
    written = 0

    async def flood(request: web.Request) -> web.StreamResponse:
        nonlocal written
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(1600):  # 100 MiB if nobody stopped reading
                await response.write(chunk)
                written += len(chunk)
                await asyncio.sleep(0)  # let the server notice a client that hung up
        except (ConnectionError, RuntimeError):
            pass
        return response

    https_server.script("/flood", flood)
    capped = AiohttpTransport(
        TransportConfig(
            allowed_networks=transport_config.allowed_networks,
            ca_bundle=transport_config.ca_bundle,
            max_response_bytes=1024 * 1024,
        )
    )
    try:
        record = await run(
            sqlite_store,
            capped,
            step("a", https_server.url("/flood"), method="GET", retry_intervals=[1]),
        )
    finally:
        await capped.aclose()
    error = record.steps[0].error
    assert error is not None
    assert error["type"] == "response_too_large"
    assert len(record.steps[0].attempts) == 1  # final, not retried
    assert written < 20 * 1024 * 1024


async def test_schema_mismatch_fails_with_the_path(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/users", reply(201, '{"id": 42}'))
    schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    record = await run(
        sqlite_store,
        transport,
        step("a", https_server.url("/users"), body={}, response_schema=schema, retry_intervals=[1]),
    )
    error = record.steps[0].error
    assert error is not None
    assert error["type"] == "schema_mismatch"
    assert '$.id: 42 is not of type "string"' in error["message"]
    assert len(https_server.hits) == 1


async def test_continue_on_error_records_status_and_body_for_the_next_step(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/fail", reply(500, '{"reason": "db down"}'))
    record = await run(
        sqlite_store,
        transport,
        step("a", https_server.url("/fail"), body={}, continue_on_error=True),
        step(
            "b",
            https_server.url("/report"),
            body={
                "status": "{{ steps.a.error.status }}",
                "reason": "{{ steps.a.error.body.reason }}",
            },
        ),
    )
    assert record.status == "completed"
    assert record.steps[0].status == "errored"
    assert step_report(record.steps[0])["error"] == {
        "type": "http_status",
        "message": "the server answered 500",
        "status": 500,
        "body": {"reason": "db down"},
    }
    (report,) = https_server.hits_on("/report")
    assert json.loads(report.body) == {"status": 500, "reason": "db down"}


async def test_a_later_step_uses_an_earlier_steps_response(
    sqlite_store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/users", reply(201, '{"id": "usr_7", "items": [{"id": "it_1"}]}'))
    record = await run(
        sqlite_store,
        transport,
        step("create", https_server.url("/users"), body={}),
        step(
            "tag",
            https_server.url(
                "/users/{{ steps.create.body.id }}/tags/{{ steps.create.body.items[0].id }}"
            ),
            method="PUT",
            body={},
        ),
    )
    assert record.status == "completed"
    assert https_server.hits[1].path == "/users/usr_7/tags/it_1"


async def test_refused_address_is_final_and_nothing_is_sent(
    sqlite_store: SqlStore, https_server: HttpsServer, ca_bundle: Any
) -> None:
    guarded = AiohttpTransport(TransportConfig(ca_bundle=ca_bundle))  # loopback not allowed
    try:
        record = await run(
            sqlite_store,
            guarded,
            step("a", https_server.url("/"), method="GET", retry_intervals=[1, 1]),
        )
    finally:
        await guarded.aclose()
    assert https_server.hits == []
    error = record.steps[0].error
    assert error is not None
    assert error["type"] == "address_refused"
    assert len(record.steps[0].attempts) == 1


@pytest.fixture
async def unused_port() -> int:
    server = await asyncio.start_server(lambda _reader, _writer: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


async def test_connection_refused_is_retried(
    sqlite_store: SqlStore, transport: AiohttpTransport, unused_port: int
) -> None:
    record = await run(
        sqlite_store,
        transport,
        step("a", f"https://127.0.0.1:{unused_port}/", method="GET", retry_intervals=[1, 1]),
    )
    attempts = record.steps[0].attempts
    assert len(attempts) == 3
    assert {a.error["type"] for a in attempts if a.error} == {"connection_error"}
