"""`--log-format json`: every line serve, api and worker print is one JSON object, ids included.

A run whose step is refused (400) is logged by serve's worker child with the
run's and step's ids; neither the body sent nor the body received appears.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from callout.cli.log_format import JsonLines
from callout.store.encryption import new_key_text
from support.api_clients import document
from support.https_servers import HttpsServer, reply
from support.in_process_commands import invoke_callout
from support.polling import eventually
from support.processes import start_callout, stop_gently, wait_for_line
from support.served_processes import create_org, read_log, serving_callout

pytestmark = pytest.mark.realclock

SENT_MARKER = "payload-marker-7f3a"
ANSWERED_MARKER = "answer-marker-91c2"


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of a log as JSON; fails naming the first line that is not."""
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"not a JSON line: {line!r}") from exc
        assert isinstance(parsed, dict), line
        assert {"time", "level", "logger", "message"} <= parsed.keys(), line
        lines.append(parsed)
    return lines


@pytest.fixture
def env(loopback_env: dict[str, str], workdir: Path) -> dict[str, str]:
    return {
        **loopback_env,
        "CALLOUT_DATABASE_URL": str(workdir / "callout.db"),
        "CALLOUT_SECRET_KEY": new_key_text(),
    }


async def test_serve_logs_json_lines_with_the_ids_of_the_run_and_no_bodies(
    https_server: HttpsServer, env: dict[str, str], workdir: Path
) -> None:
    https_server.script("/users", reply(400, json.dumps({"why": ANSWERED_MARKER})))
    key = await create_org(env=env)
    log = workdir / "serve.log"
    async with (
        serving_callout("serve", "--log-format", "json", env=env, log=log) as serve,
        serve.client(key) as client,
    ):
        await wait_for_line(log, "started (concurrency")
        created = await client.post(
            "/v1/workflows", json={"document": document(https_server.url("/users"))}
        )
        workflow_id = created.json()["workflow"]["id"]
        assert (await client.post(f"/v1/workflows/{workflow_id}/publish")).status_code == 200
        started = await client.post(
            f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": SENT_MARKER}}
        )
        run_id = started.json()["run_id"]

        async def failed() -> bool:
            status: str = (await client.get(f"/v1/runs/{run_id}")).json()["status"]
            return status == "failed"

        await eventually(failed, "the run to fail", seconds=30, every=0.05)
        await wait_for_line(log, "errored")
        run = (await client.get(f"/v1/runs/{run_id}")).json()
        assert await stop_gently(serve.process) == 0

    lines = json_lines(await read_log(log))
    [errored] = [line for line in lines if "errored" in line["message"]]
    assert errored["run_id"] == run_id
    assert errored["step_id"] == "create_user"
    assert errored["step_run_id"].startswith("stp_")
    assert errored["attempt_id"].startswith("att_")
    assert errored["logger"] == "callout.engine"
    assert run["steps"][0]["step_run_id"] == errored["step_run_id"]
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers  # the web server's lines too
    assert any("serving on" in line["message"] for line in lines)
    text = log.read_text()
    assert SENT_MARKER not in text
    assert ANSWERED_MARKER not in text


async def test_the_worker_reads_its_log_format_from_the_environment(
    env: dict[str, str], workdir: Path
) -> None:
    log = workdir / "worker.log"
    worker = await start_callout(
        "worker",
        env={**env, "CALLOUT_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"},
        log=log,
    )
    await wait_for_line(log, "started (concurrency")
    assert await stop_gently(worker) == 0
    lines = json_lines(log.read_text())
    assert any(line["message"].endswith("stopped") for line in lines)


async def test_a_log_format_outside_the_choices_is_refused(env: dict[str, str]) -> None:
    # Refused while the arguments are read, before anything starts: in this process.
    code, _, err = await invoke_callout("api", "--log-format", "xml", env=env)
    assert code == 2, err


def test_a_json_line_keeps_a_traceback_and_strange_text_on_one_line() -> None:
    try:
        raise ValueError("bad\nvalue")  # noqa: TRY301 - a real traceback to format
    except ValueError:
        record = logging.LogRecord(
            "callout.engine",
            logging.ERROR,
            __file__,
            1,
            "failed: %s",
            ("a\nb\u2028c",),
            sys.exc_info(),
        )
    record.run_id = "wfr_1"
    line = JsonLines().format(record)
    assert "\n" not in line
    assert "\u2028" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "failed: a\nb\u2028c"
    assert parsed["run_id"] == "wfr_1"
    assert "step_id" not in parsed
    assert "ValueError: bad" in parsed["error"]
    assert parsed["level"] == "error"


async def test_plain_stays_the_default(env: dict[str, str], workdir: Path) -> None:
    log = workdir / "api.log"
    async with serving_callout("api", env=env, log=log) as api:
        async with httpx.AsyncClient(base_url=api.base) as client:
            assert (await client.get("/healthz")).status_code == 200
        assert await stop_gently(api.process) == 0
    assert not log.read_text().lstrip().startswith("{")
    assert "callout API on http://127.0.0.1" in log.read_text()
