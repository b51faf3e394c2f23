"""`callout serve` rides out its SQLite file locked by another process past the busy timeout.

While another connection holds the write lock, the API answers writes with 503
`store_unavailable` and `Retry-After`, and the worker inside waits (one log line);
once the lock is gone both carry on by themselves, and the process never exits.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from callout.api.errors import STORE_RETRY_AFTER
from callout.store.encryption import new_key_text
from support.api_clients import document
from support.https_servers import HttpsServer, reply
from support.processes import stop_gently, wait_for_line
from support.served_processes import create_org, serving_callout

pytestmark = pytest.mark.realclock

STARTUP = 60.0
OUTAGE_LINE = "the database is unavailable: database is locked; trying"


async def answer(client: httpx.AsyncClient, method: str, path: str, status: int, **kw: Any) -> Any:
    response = await client.request(method, path, **kw)
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


async def test_serve_answers_503_and_its_worker_waits_while_sqlite_is_locked(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    https_server.script("/users", reply(201, '{"id": "usr_1"}'))
    db = tmp_path / "callout.db"
    env = {
        **loopback_env,
        "CALLOUT_DATABASE_URL": str(db),
        "CALLOUT_SECRET_KEY": new_key_text(),
        "CALLOUT_SQLITE_BUSY_TIMEOUT": "0.2",
    }
    key = await create_org(env=env)
    log = tmp_path / "serve.log"
    async with serving_callout("serve", env=env, log=log, timeout=STARTUP) as serve:
        async with serve.client(key) as client:
            created = await answer(
                client,
                "POST",
                "/v1/workflows",
                201,
                json={"document": document(https_server.url("/users"))},
            )
            workflow_id = created["workflow"]["id"]
            await answer(client, "POST", f"/v1/workflows/{workflow_id}/publish", 200)
            trigger = f"/v1/workflows/{workflow_id}/trigger"

            lock = sqlite3.connect(db, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")  # as a backup or another process would
            try:
                refused = await client.post(trigger, json={"payload": {"id": "inq_1"}})
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["code"] == "store_unavailable"
                assert refused.headers["Retry-After"] == str(STORE_RETRY_AFTER)
                # The worker inside finds the file locked too, says so, and waits.
                await wait_for_line(log, OUTAGE_LINE, timeout=STARTUP)
                assert serve.process.returncode is None
            finally:
                lock.execute("ROLLBACK")
                lock.close()

            started = await answer(client, "POST", trigger, 202, json={"payload": {"id": "inq_1"}})
            run: dict[str, Any] = {}
            for _ in range(100):
                run = await answer(client, "GET", f"/v1/runs/{started['run_id']}", 200)
                if run["status"] == "completed":
                    break
                await asyncio.sleep(0.1)
            assert run["status"] == "completed", run
            assert len(https_server.hits) == 1
            assert serve.process.returncode is None
        assert await stop_gently(serve.process) == 0
    printed = log.read_text()
    assert printed.count(OUTAGE_LINE) == 1, printed
    assert printed.count("the database is back") == 1, printed
    assert "Traceback" not in printed
