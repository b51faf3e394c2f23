"""`callout db backup` and `callout db check`: a live store copied, checked, and served again.

The live backup runs as real processes: `callout serve` takes triggers and its worker
sends them to a loopback HTTPS server while `callout db backup` copies the
file; `callout db check` reads the copy; a second `callout serve` starts from
the copy and answers for the runs it holds. `db check` and the refusals run in
this process (support/in_process_commands.py), on the same files.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from support.api_clients import document
from support.https_servers import HttpsServer
from support.in_process_commands import invoke_callout
from support.polling import eventually
from support.processes import run_callout
from support.served_processes import create_org, serving_callout


async def ok(client: httpx.AsyncClient, method: str, path: str, status: int, **kw: Any) -> Any:
    response = await client.request(method, path, **kw)
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


async def published_workflow(client: httpx.AsyncClient, url: str) -> str:
    created = await ok(client, "POST", "/v1/workflows", 201, json={"document": document(url)})
    workflow_id: str = created["workflow"]["id"]
    await ok(client, "POST", f"/v1/workflows/{workflow_id}/publish", 200)
    return workflow_id


async def trigger(client: httpx.AsyncClient, workflow_id: str, name: str) -> str:
    started = await ok(
        client, "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": name}}
    )
    run_id: str = started["run_id"]
    return run_id


async def keep_triggering(
    client: httpx.AsyncClient, workflow_id: str, acknowledged: list[str], stop: asyncio.Event
) -> None:
    """Trigger runs one after another until `stop`; note each acknowledged run."""
    number = 0
    while not stop.is_set():
        number += 1
        acknowledged.append(await trigger(client, workflow_id, f"load_{number}"))


async def completed(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal found
        found = await ok(client, "GET", f"/v1/runs/{run_id}", 200)
        return bool(found["status"] == "completed")

    await eventually(finished, f"run {run_id} to complete", seconds=30, every=0.1)
    return found


async def test_a_backup_of_a_live_store_checks_ok_and_a_service_starts_from_it(
    workdir: Path, https_server: HttpsServer, loopback_env: dict[str, str]
) -> None:
    async with serving_callout("serve", env=loopback_env, log=workdir / "serve.log") as serve:
        key = await create_org(env={})
        async with serve.client(key) as client:
            workflow_id = await published_workflow(client, https_server.url("/users"))
            first = await trigger(client, workflow_id, "first")
            await completed(client, first)
            acknowledged: list[str] = []
            stop = asyncio.Event()
            load = asyncio.create_task(keep_triggering(client, workflow_id, acknowledged, stop))
            try:
                await eventually(lambda: len(acknowledged) >= 5, "triggers under way", seconds=30)
                before_backup = list(acknowledged)
                code, out, err = await run_callout("db", "backup", "copy.db", env={})
                # The load went on through the backup, and after it.
                after_backup = len(acknowledged)
                await eventually(
                    lambda: len(acknowledged) > after_backup + 3, "triggers after", seconds=30
                )
            finally:
                stop.set()
                await load
    assert code == 0, err
    assert "backed up callout.db to copy.db" in out
    assert not await asyncio.to_thread(Path("copy.db-wal").exists)  # one self-contained file

    code, out, err = await invoke_callout("db", "check", "copy.db", "--json", env={})
    assert code == 0, (out, err)
    checked = json.loads(out)
    assert checked["ok"] is True
    assert checked["problems"] == []
    assert checked["counts"]["organizations"] == 1
    assert checked["counts"]["runs"] >= len(before_backup) + 1
    assert checked["counts"]["runs"] <= len(acknowledged) + 1

    log = workdir / "copy.log"
    async with (
        serving_callout("serve", "--database", "copy.db", env=loopback_env, log=log) as copy,
        copy.client(key) as client,
    ):
        run = await ok(client, "GET", f"/v1/runs/{first}", 200)
        assert run["status"] == "completed"
        assert run["steps"][0]["attempts"][0]["status"] == 200
        # Every run acknowledged before the backup began is in the copy.
        for run_id in before_backup:
            await ok(client, "GET", f"/v1/runs/{run_id}", 200)


def files_callout_cannot_start_from() -> None:
    conn = sqlite3.connect("other.db")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    Path("garbage.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)


async def test_check_refuses_a_file_callout_cannot_start_from(workdir: Path) -> None:
    await asyncio.to_thread(files_callout_cannot_start_from)

    for path, problem in (
        ("other.db", "not a callout database"),
        ("garbage.db", "cannot read garbage.db"),
        ("missing.db", "there is no file at missing.db"),
    ):
        code, _, err = await invoke_callout("db", "check", path, env={})
        assert code == 1, path
        assert problem in err, (path, err)


async def test_backup_never_overwrites_a_file(workdir: Path) -> None:
    await create_org(env={})
    taken = workdir / "taken.db"
    await asyncio.to_thread(taken.write_text, "keep me")

    code, _, err = await invoke_callout("db", "backup", "taken.db", env={})

    assert code == 2
    assert "taken.db exists: a backup never overwrites a file" in err
    assert await asyncio.to_thread(taken.read_text) == "keep me"


async def test_backup_of_postgresql_points_to_its_own_tools(workdir: Path) -> None:
    code, _, err = await invoke_callout(
        "db", "backup", "copy.db", "--database", "postgresql://nobody@127.0.0.1:1/none", env={}
    )

    assert code == 2
    assert "pg_dump" in err
    assert "docs/ops/backup.md" in err
    assert not await asyncio.to_thread(Path("copy.db").exists)
