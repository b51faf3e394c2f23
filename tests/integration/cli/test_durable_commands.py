"""`callout run --detach`, `worker`, `runs ...` and `db upgrade`.

`worker` always runs as a real process (it is stopped by SIGTERM); so do one
`run`, one `runs` command and `db upgrade`. The other commands, and the polls for
a run's status, run in this process (support/in_process_commands.py): they read
and write the same SQLite file a process would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callout.store.schema import head_revision
from support.https_servers import HttpsServer, reply
from support.in_process_commands import invoke_callout
from support.polling import eventually
from support.processes import run_callout, start_callout, stop_gently, wait_for_line

SECRET = "s3cr3t-value-that-must-not-leak"
WORKER_WITHIN = 40.0
"""How long a worker process may take to start and finish a run (a busy 2-core box)."""


@pytest.fixture
def env(loopback_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**loopback_env, "CALLOUT_DATABASE_URL": str(tmp_path / "callout.db")}


def workflow(tmp_path: Path, url: str) -> str:
    path = tmp_path / "wf.json"
    step = {
        "id": "create_user",
        "action": "make_https_request",
        "url": url,
        "body": {"email": "{{ trigger.email }}"},
        "secret": "{{ secrets.crm_signing }}",
    }
    path.write_text(json.dumps({"name": "Create user", "steps": [step]}))
    return str(path)


async def wait_status(run_id: str, status: str, env: dict[str, str]) -> dict[str, object]:
    """`runs show --json` until the run has `status` (the worker process may start slowly)."""
    report: dict[str, object] = {}

    async def reached() -> bool:
        nonlocal report
        code, out, _ = await invoke_callout("runs", "show", run_id, "--json", env=env)
        assert code == 0
        report = json.loads(out)
        return report["status"] == status

    await eventually(reached, f"run {run_id} to reach {status}", seconds=WORKER_WITHIN, every=0.1)
    return report


async def test_detached_run_is_executed_by_a_worker_and_shown(
    https_server: HttpsServer, env: dict[str, str], tmp_path: Path
) -> None:
    https_server.script("/users", reply(201, '{"id": "usr_1"}'))
    trigger = tmp_path / "t.json"
    trigger.write_text('{"email": "ada@example.com"}')
    code, out, err = await run_callout(
        "run",
        workflow(tmp_path, https_server.url("/users")),
        "--trigger",
        str(trigger),
        "--detach",
        env=env,
    )
    assert code == 0, err
    run_id = out.strip()
    assert run_id.startswith("wfr_")
    assert "no `callout worker`" in err
    assert https_server.hits == []  # detached: nothing sent by `callout run`

    worker = await start_callout(
        "worker", env={**env, "CALLOUT_SECRET_CRM_SIGNING": SECRET}, log=tmp_path / "worker.log"
    )
    try:
        report = await wait_status(run_id, "completed", env)
    finally:
        assert await stop_gently(worker) == 0
    (hit,) = https_server.hits
    assert "Persona-Signature" in hit.headers
    steps = report["steps"]
    assert isinstance(steps, list)
    assert steps[0]["attempts"][0]["request"]["method"] == "POST"
    assert SECRET not in json.dumps(report)

    code, out, _ = await run_callout("runs", "list", "--status", "completed", env=env)
    assert code == 0
    assert run_id in out


async def test_detach_refuses_secret_options(
    https_server: HttpsServer, env: dict[str, str], tmp_path: Path
) -> None:
    code, _, err = await invoke_callout(
        "run",
        workflow(tmp_path, https_server.url("/")),
        "--detach",
        "--secret",
        f"crm_signing={SECRET}",
        env=env,
    )
    assert code == 2
    assert "CALLOUT_SECRET_" in err
    assert SECRET not in err


async def test_a_failed_run_is_resumed_from_the_failed_step(
    https_server: HttpsServer, env: dict[str, str], tmp_path: Path
) -> None:
    https_server.script("/users", reply(500), reply(201, '{"id": "usr_1"}'))
    trigger = tmp_path / "t.json"
    trigger.write_text('{"email": "ada@example.com"}')
    code, out, _ = await invoke_callout(
        "run",
        workflow(tmp_path, https_server.url("/users")),
        "--trigger",
        str(trigger),
        "--secret",
        f"crm_signing={SECRET}",
        "--json",
        env=env,
    )
    assert code == 1
    run_id = json.loads(out)["run_id"]
    code, out, _ = await invoke_callout("runs", "list", "--status", "failed", "--json", env=env)
    assert [r["run_id"] for r in json.loads(out)] == [run_id]

    code, out, err = await invoke_callout("runs", "resume", run_id, env=env)
    assert code == 0, err
    worker = await start_callout(
        "worker", env={**env, "CALLOUT_SECRET_CRM_SIGNING": SECRET}, log=tmp_path / "worker.log"
    )
    try:
        report = await wait_status(run_id, "completed", env)
    finally:
        assert await stop_gently(worker) == 0
    steps = report["steps"]
    assert isinstance(steps, list)
    assert [s["status"] for s in steps] == ["errored", "succeeded"]
    first, second = https_server.hits
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]


async def test_unknown_run_says_so(env: dict[str, str]) -> None:
    code, _, err = await invoke_callout("runs", "show", "wfr_nope", env=env)
    assert code == 1
    assert "no run wfr_nope" in err


async def test_db_upgrade_reports_the_revision(env: dict[str, str]) -> None:
    code, out, err = await run_callout("db", "upgrade", env=env)
    assert code == 0, err
    assert f"schema at revision {head_revision()}" in out


async def test_unsupported_database_url_is_refused(env: dict[str, str]) -> None:
    code, _, err = await invoke_callout(
        "runs", "list", env={**env, "CALLOUT_DATABASE_URL": "mysql://x"}
    )
    assert code == 2
    assert "unsupported database" in err


async def test_sigterm_stops_an_idle_worker_with_exit_0(
    env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    worker = await start_callout("worker", env=env, log=log)
    # Its signal handlers are installed before it says it started: wait for that line.
    await wait_for_line(log, " started (concurrency")
    assert await stop_gently(worker) == 0
    assert "stopped" in (tmp_path / "worker.log").read_text()
