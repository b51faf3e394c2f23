"""Query, form and raw bodies, Basic and Bearer auth, and the header_values/url outputs,
end to end against a real loopback HTTPS server (trustme certificates)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web
from multidict import CIMultiDict

from callout.engine.report import run_report
from callout.http import AiohttpTransport
from callout.model.clock import ManualClock
from callout.signing import verify
from callout.store.database import database_url
from callout.store.protocol import StoredRun
from callout.store.sql_store import SqlStore, open_store
from support.https_servers import HttpsServer
from support.migrated_databases import migrated_sqlite_file
from support.running import run_workflow, workflow_of

SIGNING = "signing-key-1"
PASSWORD = 'p@ss wörd/+"&='
TOKEN = "bearer tok/en+=&"
SECRETS = {"sig": SIGNING, "pw": PASSWORD, "tok": TOKEN, "user": "acct_42"}


def step(step_id: str, url: str, **config: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "make_https_request", "url": url, **config}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    path = tmp_path / "callout.db"
    await migrated_sqlite_file(path)  # as if the store had just made and migrated it
    opened = await open_store(database_url(str(path)), clock=ManualClock(start=time.time()))
    yield opened
    await opened.close()


async def completed_run(
    store: SqlStore, transport: AiohttpTransport, *steps: dict[str, Any], trigger: Any = None
) -> StoredRun:
    """Run a workflow of `steps`; fail the test, with the run's report, unless it completed."""
    record = await run_workflow(
        workflow_of(*steps),
        transport=transport,
        trigger=trigger,
        secrets=SECRETS,
        clock=store.clock,
        store=store,
    )
    assert record.status == "completed", run_report(record)
    return record


def echo(status: int) -> Any:
    """A responder that sends back everything it got, decoded, in its body and headers."""

    async def respond(request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization", "")
        scheme, _, credential = authorization.partition(" ")
        decoded = base64.b64decode(credential).decode() if scheme == "Basic" else credential
        echoed = {
            "authorization": authorization,
            "decoded": decoded,
            "query": request.query_string,
            "query_values": list(request.query.values()),
            "body": (await request.read()).decode(),
        }
        headers = CIMultiDict(
            [("X-Auth", authorization), ("X-Decoded", decoded), ("X-Decoded", credential)]
        )
        return web.Response(
            status=status, text=json.dumps(echoed), content_type="application/json", headers=headers
        )

    return respond


def spellings(value: str) -> set[str]:
    return {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        base64.b64encode(value.encode()).decode(),
    }


async def test_a_form_body_arrives_form_encoded_and_its_signature_verifies(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    await completed_run(
        store,
        transport,
        step(
            "charge",
            https_server.url("/v1/charges"),
            body_type="form",
            body=[
                {"key": "amount", "value": "{{ trigger.amount }}"},
                {"key": "metadata[order]", "value": "{{ trigger.order }}"},
                {"key": "description", "value": "Café & crème"},
            ],
            secret="{{ secrets.sig }}",
        ),
        trigger={"amount": 1999, "order": "ord 7/8"},
    )
    (hit,) = https_server.hits
    assert hit.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert hit.body == (
        b"amount=1999&metadata%5Border%5D=ord+7%2F8&description=Caf%C3%A9+%26+cr%C3%A8me"
    )
    assert verify(hit.headers["Persona-Signature"], hit.body, SIGNING) > 0


async def test_a_raw_body_arrives_as_utf8_with_its_content_type_and_its_signature_verifies(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    await completed_run(
        store,
        transport,
        step(
            "order",
            https_server.url("/orders"),
            method="PUT",
            body_type="raw",
            body='<order id="{{ trigger.id }}" total="{{ trigger.total }}">naïve</order>',
            content_type="application/xml",
            secret="{{ secrets.sig }}",
        ),
        trigger={"id": "o-1", "total": 12.5},
    )
    (hit,) = https_server.hits
    assert hit.method == "PUT"
    assert hit.headers["Content-Type"] == "application/xml"
    assert hit.body == '<order id="o-1" total="12.5">naïve</order>'.encode()
    assert verify(hit.headers["Persona-Signature"], hit.body, SIGNING) > 0


async def test_query_pairs_arrive_after_the_urls_own_query_percent_encoded(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    await completed_run(
        store,
        transport,
        step(
            "list",
            https_server.url("/v1/charges?expand[]=customer&q={{ trigger.q }}"),
            method="GET",
            query=[
                {"key": "limit", "value": "{{ trigger.limit }}"},
                {"key": "email", "value": "{{ trigger.email }}"},
                {"key": "tag", "value": "a b"},
                {"key": "tag", "value": "c~d"},
            ],
        ),
        trigger={"q": "x&y", "limit": 10, "email": "ada+1@example.com"},
    )
    (hit,) = https_server.hits
    assert hit.raw_path == (
        "/v1/charges?expand[]=customer&q=x%26y&limit=10&email=ada%2B1%40example.com"
        "&tag=a%20b&tag=c~d"
    )


async def test_basic_and_bearer_headers_arrive(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    await completed_run(
        store,
        transport,
        step(
            "basic",
            https_server.url("/basic"),
            method="GET",
            auth={
                "type": "basic",
                "username": "{{ secrets.user }}",
                "password": "{{ secrets.pw }}",
            },
        ),
        step(
            "stripe",
            https_server.url("/stripe"),
            method="GET",
            auth={"type": "basic", "username": "sk_test_1"},
        ),
        step(
            "bearer",
            https_server.url("/bearer"),
            method="GET",
            auth={"type": "bearer", "token": "{{ secrets.tok }}"},
        ),
    )
    basic, stripe, bearer = (hit.headers["Authorization"] for hit in https_server.hits)
    assert basic == "Basic " + base64.b64encode(f"acct_42:{PASSWORD}".encode()).decode()
    assert stripe == "Basic " + base64.b64encode(b"sk_test_1:").decode()
    assert bearer == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status", [200, 400])
async def test_no_form_of_a_credential_is_recorded_even_when_the_server_echoes_it(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport, status: int
) -> None:
    https_server.script("/basic", echo(status))
    https_server.script("/bearer", echo(status))
    record = await completed_run(
        store,
        transport,
        step(
            "basic",
            https_server.url("/basic"),
            auth={
                "type": "basic",
                "username": "{{ secrets.user }}",
                "password": "{{ secrets.pw }}",
            },
            query=[{"key": "pw", "value": "{{ secrets.pw }}"}],
            body_type="form",
            body=[{"key": "pw", "value": "{{ secrets.pw }}"}],
            continue_on_error=True,
        ),
        step(
            "bearer",
            https_server.url("/bearer"),
            auth={"type": "bearer", "token": "{{ secrets.tok }}"},
            body_type="raw",
            body="token={{ secrets.tok }}",
            continue_on_error=True,
        ),
    )
    # The server did receive them, in each form...
    basic_hit, bearer_hit = https_server.hits
    assert quote_plus(PASSWORD).encode() in basic_hit.body
    assert TOKEN.encode() in bearer_hit.body
    # ...and nothing callout recorded holds any of them.
    recorded = json.dumps(run_report(record), ensure_ascii=False)
    pair = f"acct_42:{PASSWORD}"
    forbidden = spellings(PASSWORD) | spellings(TOKEN) | spellings(pair) | {"acct_42"}
    assert [form for form in forbidden if form in recorded] == []
    assert "[redacted]" in recorded
    if status == 200:
        output = record.steps[0].output
        assert output is not None
        assert output["body"]["decoded"] == "[redacted]"
        assert output["header_values"]["x-decoded"] == ["[redacted]", "[redacted]"]
    else:
        assert record.steps[0].error is not None
        assert record.steps[0].error["type"] == "http_status"


async def test_header_values_and_url_reach_a_later_step(
    store: SqlStore, https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    async def cookies(_: web.Request) -> web.StreamResponse:
        headers = CIMultiDict(
            [
                ("Set-Cookie", "a=1; Path=/"),
                ("Set-Cookie", "b=2; Path=/"),
                ("X-Rate", "10"),
                ("x-rate", "9"),
            ]
        )
        return web.Response(text="{}", content_type="application/json", headers=headers)

    https_server.script("/session", cookies)
    record = await completed_run(
        store,
        transport,
        step("login", https_server.url("/session?k={{ secrets.tok }}"), method="GET"),
        step(
            "use",
            https_server.url("/use"),
            body={
                "rates": '{{ steps.login.header_values["x-rate"] }}',
                "second": '{{ steps.login.header_values["X-Rate"][1] }}',
                "joined": '{{ steps.login.headers["x-rate"] }}',
                "cookies": '{{ steps.login.header_values["set-cookie"] }}',
                "from": "{{ steps.login.url }}",
            },
        ),
    )
    output = record.steps[0].output
    assert output is not None
    assert output["header_values"]["x-rate"] == ["10", "9"]
    assert output["header_values"]["set-cookie"] == ["[redacted]", "[redacted]"]
    assert output["url"] == https_server.url("/session?k=[redacted]")
    use = json.loads(https_server.hits_on("/use")[0].body)
    assert use == {
        "rates": ["10", "9"],
        "second": "9",
        "joined": "10, 9",
        "cookies": ["[redacted]", "[redacted]"],
        "from": https_server.url("/session?k=[redacted]"),
    }
