"""OAuth2 access tokens end to end: a real token endpoint on loopback HTTPS, real SQL stores.

The token endpoint (`/token` on the `https_server`, a trustme certificate) counts
its calls and hands out `tok-1`, `tok-2`, ... Tokens are fetched through the real
`AiohttpTransport` and its address guard, and shared through SQLite and
PostgreSQL stores (`db_url`), between stores in this process and between
separate processes.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from callout.engine.attached import run_attached
from callout.engine.executor import StepExecutor
from callout.engine.starting import start_run
from callout.engine.token_source import REFRESH_MARGIN, AccessTokens
from callout.http import AiohttpTransport, TransportConfig
from callout.model.clock import ManualClock
from callout.model.errors import TokenError
from callout.steps.tokens import ClientCredentials
from callout.steps.validation import validate_workflow
from callout.store.database import database_url
from callout.store.encryption import SecretCipher
from callout.store.memory import MemoryStore
from callout.store.protocol import StoredRun
from callout.store.sql_store import SqlStore, open_store
from integration.service_store.seeds import new_org
from support.https_servers import HttpsServer, Responder, reply
from support.running import workflow_of

CLIENT_SECRET = "client-secret-distinctive-4f0c"


def credentials(server: HttpsServer, **changes: Any) -> ClientCredentials:
    values: dict[str, Any] = {
        "token_url": server.url("/token"),
        "client_id": "callout-test",
        "client_secret": CLIENT_SECRET,
        "scopes": ("read", "write"),
        "timeout": 10.0,
    }
    return ClientCredentials(**(values | changes))


def issuing(server: HttpsServer, *, expires_in: float = 3600, delay: float = 0.0) -> Responder:
    """A token endpoint answering its n-th call with `tok-n`, after `delay` seconds."""

    async def respond(_: web.Request) -> web.StreamResponse:
        number = len(server.hits_on("/token"))
        if delay:
            await asyncio.sleep(delay)
        return web.json_response(
            {"access_token": f"tok-{number}", "token_type": "Bearer", "expires_in": expires_in}
        )

    return respond


@pytest.fixture
def cipher() -> SecretCipher:
    return SecretCipher(secrets.token_bytes(32))


@pytest.fixture
async def second_store(db_url: str, db_clock: ManualClock) -> AsyncIterator[SqlStore]:
    """Another store on the same database: another worker's connections."""
    other = await open_store(database_url(db_url), clock=db_clock)
    yield other
    await other.close()


def shared(
    transport: AiohttpTransport, store: SqlStore, cipher: SecretCipher, clock: ManualClock
) -> AccessTokens:
    return AccessTokens(transport, records=store.tokens, cipher=cipher, monotonic=clock.now)


@pytest.fixture
def two_workers(
    transport: AiohttpTransport,
    timed_store: SqlStore,
    second_store: SqlStore,
    cipher: SecretCipher,
    db_clock: ManualClock,
) -> tuple[AccessTokens, AccessTokens]:
    """Two workers' tokens, each through its own store on the same database."""
    return (
        shared(transport, timed_store, cipher, db_clock),
        shared(transport, second_store, cipher, db_clock),
    )


async def test_the_grant_reaches_the_endpoint_as_a_form_with_basic_client_auth(
    https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/token", issuing(https_server))
    tokens = AccessTokens(transport)
    assert await tokens.token(None, credentials(https_server)) == "tok-1"
    [hit] = https_server.hits_on("/token")
    assert hit.method == "POST"
    assert hit.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(hit.body.decode()) == [
        ("grant_type", "client_credentials"),
        ("scope", "read write"),
    ]
    scheme, _, encoded = hit.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"callout-test:{CLIENT_SECRET}"


async def test_one_fetch_serves_many_attempts(
    https_server: HttpsServer,
    transport: AiohttpTransport,
    timed_store: SqlStore,
    cipher: SecretCipher,
    db_clock: ManualClock,
) -> None:
    https_server.script("/token", issuing(https_server, delay=0.2))
    tokens = shared(transport, timed_store, cipher, db_clock)
    got = await asyncio.gather(*(tokens.token(None, credentials(https_server)) for _ in range(30)))
    got += [await tokens.token(None, credentials(https_server)) for _ in range(5)]
    assert set(got) == {"tok-1"}
    assert len(https_server.hits_on("/token")) == 1


async def test_a_token_is_fetched_again_shortly_before_it_expires(
    https_server: HttpsServer,
    transport: AiohttpTransport,
    timed_store: SqlStore,
    cipher: SecretCipher,
    db_clock: ManualClock,
) -> None:
    https_server.script("/token", issuing(https_server, expires_in=600))
    tokens = shared(transport, timed_store, cipher, db_clock)
    assert await tokens.token(None, credentials(https_server)) == "tok-1"
    db_clock.advance(600 - REFRESH_MARGIN - 1)
    assert await tokens.token(None, credentials(https_server)) == "tok-1"
    db_clock.advance(1)
    assert await tokens.token(None, credentials(https_server)) == "tok-2"
    assert len(https_server.hits_on("/token")) == 2


async def test_a_refused_token_is_fetched_again_once_for_every_worker(
    https_server: HttpsServer,
    two_workers: tuple[AccessTokens, AccessTokens],
    timed_store: SqlStore,
    db_clock: ManualClock,
) -> None:
    https_server.script("/token", issuing(https_server))
    one, two = two_workers
    org = await new_org(timed_store, "Acme", now=db_clock.now())
    assert await one.token(org.id, credentials(https_server)) == "tok-1"
    assert await two.token(org.id, credentials(https_server)) == "tok-1"
    # Both workers' attempts got a 401 with tok-1, at once: one new token between them.
    refused = await asyncio.gather(
        *(
            worker.token(org.id, credentials(https_server), refused="tok-1")
            for worker in (one, two, one, two)
        )
    )
    assert set(refused) == {"tok-2"}
    assert len(https_server.hits_on("/token")) == 2


async def test_two_stores_on_one_database_share_one_fetch_under_concurrency(
    https_server: HttpsServer, two_workers: tuple[AccessTokens, AccessTokens]
) -> None:
    https_server.script("/token", issuing(https_server, delay=0.3))
    asking = [
        worker.token(None, credentials(https_server)) for worker in two_workers for _ in range(10)
    ]
    assert set(await asyncio.gather(*asking)) == {"tok-1"}
    assert len(https_server.hits_on("/token")) == 1


_WORKER = """
import asyncio, os, sys
from callout.engine.token_source import AccessTokens
from callout.http import AiohttpTransport, TransportConfig
from callout.steps.tokens import ClientCredentials
from callout.store.database import database_url
from callout.store.encryption import load_secret_key
from callout.store.sql_store import open_store

async def main():
    store = await open_store(database_url(os.environ["CALLOUT_DATABASE_URL"]))
    transport = AiohttpTransport(TransportConfig.from_env())
    tokens = AccessTokens(
        transport, records=store.tokens, cipher=load_secret_key(os.environ).cipher
    )
    credentials = ClientCredentials(
        token_url=os.environ["TOKEN_URL"], client_id="callout-test", client_secret="s"
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    try:
        print(await tokens.token(None, credentials), flush=True)
    finally:
        await transport.aclose()
        await store.close()

asyncio.run(main())
"""


async def test_worker_processes_on_one_database_make_one_fetch(
    https_server: HttpsServer, db_url: str, ca_bundle: Path
) -> None:
    https_server.script("/token", issuing(https_server, delay=0.5))
    store = await open_store(database_url(db_url))  # the schema, made once before they start
    await store.close()
    env = {
        **os.environ,
        "CALLOUT_DATABASE_URL": db_url,
        "CALLOUT_SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "CALLOUT_CA_BUNDLE": str(ca_bundle),
        "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32",
        "TOKEN_URL": https_server.url("/token"),
    }
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WORKER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        for _ in range(3)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert await asyncio.wait_for(worker.stdout.readline(), 60) == b"ready\n"
        for worker in workers:  # all ask at once
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
        said = [await asyncio.wait_for(worker.communicate(), 60) for worker in workers]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    assert [out for out, _ in said] == [b"tok-1\n"] * 3
    assert len(https_server.hits_on("/token")) == 1


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            401,
            '{"error": "invalid_client", "error_description": "Unknown client"}',
            "answered 401 (invalid_client: Unknown client)",
        ),
        (400, '{"error": "invalid_scope"}', "answered 400 (invalid_scope)"),
    ],
)
async def test_refused_credentials_are_a_final_token_error(
    https_server: HttpsServer, transport: AiohttpTransport, status: int, body: str, message: str
) -> None:
    https_server.script("/token", reply(status, body))
    with pytest.raises(TokenError) as caught:
        await AccessTokens(transport).token(None, credentials(https_server))
    assert str(caught.value) == f"the token endpoint 127.0.0.1:{https_server.port} {message}"
    assert not caught.value.retryable
    assert caught.value.kind == "oauth2_token_error"


async def test_an_unavailable_endpoint_is_a_retryable_token_error(
    https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/token", reply(503, "{}"))
    with pytest.raises(TokenError) as caught:
        await AccessTokens(transport).token(None, credentials(https_server))
    assert str(caught.value) == f"the token endpoint 127.0.0.1:{https_server.port} answered 503"
    assert caught.value.retryable


async def test_an_endpoint_that_does_not_answer_in_time_is_a_retryable_token_error(
    https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    # Longer than the 1 s timeout; short, as the server waits for it when the test ends.
    https_server.script("/token", issuing(https_server, delay=2.5))
    with pytest.raises(TokenError) as caught:
        await AccessTokens(transport).token(None, credentials(https_server, timeout=1.0))
    assert str(caught.value) == (
        f"the token endpoint 127.0.0.1:{https_server.port} did not answer within 1 s"
    )
    assert caught.value.retryable


async def test_neither_the_secret_nor_a_token_is_in_a_message_or_a_repr(
    https_server: HttpsServer,
    transport: AiohttpTransport,
    timed_store: SqlStore,
    cipher: SecretCipher,
    db_clock: ManualClock,
) -> None:
    tokens = shared(transport, timed_store, cipher, db_clock)
    https_server.script(
        "/token",
        reply(200, '{"access_token": "tok-in-a-bad-answer", "token_type": "mac"}'),
        reply(401, f'{{"error": "invalid_client", "error_description": "{CLIENT_SECRET}"}}'),
        issuing(https_server),
    )
    said = []
    for _ in range(2):
        with pytest.raises(TokenError) as caught:
            await tokens.token(None, credentials(https_server))
        said.append(str(caught.value))
    token = await tokens.token(None, credentials(https_server))
    assert token == "tok-3"
    shown = " ".join([*said, repr(tokens), repr(tokens.for_organization(None))])
    shown += repr(credentials(https_server))
    for hidden in (CLIENT_SECRET, "tok-in-a-bad-answer", token):
        assert hidden not in shown


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_address_guard_refuses_a_token_url_before_any_connection(
    host: str, ca_bundle: Path
) -> None:
    accepted: list[object] = []

    async def count(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    guarded = AiohttpTransport(TransportConfig(ca_bundle=ca_bundle))  # no network let through
    try:
        with pytest.raises(TokenError) as caught:
            await AccessTokens(guarded).token(
                None,
                ClientCredentials(
                    token_url=f"https://{host}:{port}/token", client_id="c", client_secret="s"
                ),
            )
    finally:
        await guarded.aclose()
        listener.close()
        await listener.wait_closed()
    assert str(caught.value).startswith("the token URL's address is refused: ")
    assert "refused by the address guard" in str(caught.value)
    assert not caught.value.retryable
    assert accepted == []


# --- through the step: the executor hands each attempt its organization's tokens ----


def oauth2_step(server: HttpsServer) -> dict[str, Any]:
    return {
        "id": "call",
        "action": "make_https_request",
        "url": server.url("/api"),
        "method": "GET",
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": server.url("/token"),
            "client_id": "callout-test",
            "client_secret": "{{ secrets.oauth_secret }}",
        },
        "retry_intervals": [],
    }


async def run_on(
    server: HttpsServer, store: SqlStore, tokens: AccessTokens, transport: AiohttpTransport
) -> StoredRun:
    """Run the one-step workflow as a worker on `store` would, with its `tokens`."""
    assert store.clock is not None
    workflow = validate_workflow(workflow_of(oauth2_step(server)))
    run_id = await start_run(store, workflow, {}, clock=store.clock)
    executor = StepExecutor(
        store=store,
        transport=transport,
        secrets={"oauth_secret": CLIENT_SECRET},
        clock=store.clock,
        tokens=tokens,
    )
    return await run_attached(store, executor, run_id, clock=store.clock)


def bearer_tokens(server: HttpsServer) -> list[str]:
    return [hit.headers.get("Authorization", "") for hit in server.hits_on("/api")]


async def test_runs_on_two_workers_send_the_one_token_fetched(
    https_server: HttpsServer,
    transport: AiohttpTransport,
    two_workers: tuple[AccessTokens, AccessTokens],
    timed_store: SqlStore,
    second_store: SqlStore,
) -> None:
    https_server.script("/token", issuing(https_server, delay=0.2))
    one, two = two_workers
    runs = await asyncio.gather(
        *(
            run_on(https_server, store, tokens, transport)
            for store, tokens in [(timed_store, one), (second_store, two)] * 3
        )
    )
    assert {run.status for run in runs} == {"completed"}
    assert bearer_tokens(https_server) == ["Bearer tok-1"] * 6
    assert len(https_server.hits_on("/token")) == 1
    recorded = str([await timed_store.get_run(run.id) for run in runs])
    assert "tok-1" not in recorded
    assert CLIENT_SECRET not in recorded


async def test_a_401_from_the_api_gets_one_fresh_token_and_one_resend(
    https_server: HttpsServer,
    transport: AiohttpTransport,
    two_workers: tuple[AccessTokens, AccessTokens],
    timed_store: SqlStore,
) -> None:
    https_server.script("/token", issuing(https_server))
    https_server.script("/api", reply(401, "{}"), reply(200, '{"ok": true}'))
    run = await run_on(https_server, timed_store, two_workers[0], transport)
    assert run.status == "completed"
    assert bearer_tokens(https_server) == ["Bearer tok-1", "Bearer tok-2"]
    assert len(https_server.hits_on("/token")) == 2


async def test_an_executor_given_no_token_source_keeps_tokens_in_its_process(
    https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    # As `callout run` and tests build it: no store sharing, yet one fetch for both runs.
    https_server.script("/token", issuing(https_server))
    document = workflow_of(oauth2_step(https_server))
    store = MemoryStore(clock=ManualClock())
    executor = StepExecutor(
        store=store, transport=transport, secrets={"oauth_secret": CLIENT_SECRET}
    )
    assert executor.tokens is not None
    assert not executor.tokens.shared
    for _ in range(2):
        run_id = await start_run(store, validate_workflow(document), {}, clock=ManualClock())
        run = await run_attached(store, executor, run_id, clock=ManualClock())
        assert run.status == "completed"
    assert bearer_tokens(https_server) == ["Bearer tok-1"] * 2
    assert len(https_server.hits_on("/token")) == 1
