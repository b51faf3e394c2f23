"""Real HTTPS servers on loopback with trustme certificates, shared by integration tests."""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from ipaddress import ip_network
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from callout.http import AiohttpTransport, TransportConfig
from callout.model.clock import ManualClock
from callout.store.database import database_url
from callout.store.sql_store import SqlStore, open_store
from support.databases import POSTGRES_ENV, fresh_database, postgres_admin_url
from support.https_servers import Hit, HttpsServer, listening, reply
from support.migrated_databases import migrated_database, migrated_sqlite_file
from support.private_postgres import PrivatePostgres, missing_reason, private_postgres
from support.services import skip_or_fail


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1", "api.test").configure_cert(context)
    return context


@pytest.fixture
async def https_server(server_ssl: ssl.SSLContext) -> AsyncIterator[HttpsServer]:
    server = HttpsServer(port=0)

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        server.hits.append(
            Hit(
                request.method,
                request.path,
                request.raw_path,
                dict(request.headers),
                body,
                time.monotonic(),
            )
        )
        responders = server.routes.get(request.path) or [reply()]
        count = len(server.hits_on(request.path))
        return await responders[min(count, len(responders)) - 1](request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with listening(web.AppRunner(app, access_log=None), server_ssl) as port:
        server.port = port
        yield server


@pytest.fixture
def transport_config(ca_bundle: Path) -> TransportConfig:
    return TransportConfig(allowed_networks=(ip_network("127.0.0.1/32"),), ca_bundle=ca_bundle)


@pytest.fixture
async def transport(transport_config: TransportConfig) -> AsyncIterator[AiohttpTransport]:
    real = AiohttpTransport(transport_config)
    yield real
    await real.aclose()


@pytest.fixture
def loopback_env(ca_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a `callout` process that may reach the loopback test servers."""
    env = {"CALLOUT_CA_BUNDLE": str(ca_bundle), "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A store on a fresh SQLite file, schema upgraded: where `callout run` records runs."""
    path = tmp_path / "callout.db"
    await migrated_sqlite_file(path)
    store = await open_store(database_url(str(path)))
    yield store
    await store.close()


OPENING_A_STORE = {"store", "timed_store", "pg_store"}
"""Fixtures that open a store on the test's database, bringing its schema up to date."""


def _fresh_or_migrated(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path
) -> contextlib.AbstractAsyncContextManager[str]:
    """An empty database; at the newest schema already when the test opens a store on it.

    Opening the store would migrate it first anyway: a copy of a database migrated
    once per session (support/migrated_databases.py) saves the second it takes.
    """
    if OPENING_A_STORE & set(request.fixturenames):
        return migrated_database(kind, tmp_path, admin=postgres_admin_url())
    return fresh_database(kind, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite file and a fresh PostgreSQL database: store tests run on both.

    Empty; already at the newest schema when the test opens `store` or `timed_store` on it.
    """
    kind = request.param
    if kind == "postgresql" and postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with _fresh_or_migrated(request, kind, tmp_path) as url:
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    """A store on each kind of database, schema upgraded."""
    real = await open_store(database_url(db_url))
    yield real
    await real.close()


@pytest.fixture
def db_clock() -> ManualClock:
    """A manual clock standing in for the database's: the store's time moves when a test says."""
    return ManualClock()


@pytest.fixture
async def timed_store(db_url: str, db_clock: ManualClock) -> AsyncIterator[SqlStore]:
    """A store on each kind of database whose clock (the database's) is `db_clock`."""
    real = await open_store(database_url(db_url), clock=db_clock)
    yield real
    await real.close()


@pytest.fixture
async def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL does.

    Empty; already at the newest schema when the test opens `pg_store` on it.
    """
    if postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with _fresh_or_migrated(request, "postgresql", tmp_path) as url:
        yield url


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[SqlStore]:
    """A store on a fresh PostgreSQL database."""
    real = await open_store(database_url(pg_url))
    yield real
    await real.close()


@pytest.fixture
async def private_pg() -> AsyncIterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own, which it may stop and restart."""
    reason = missing_reason()
    if reason is not None:
        skip_or_fail(reason)
    async with private_postgres() as server:
        yield server
