"""`callout run` and `callout validate` against real HTTPS servers.

The first run and the first validation are real processes (`python -m callout`, the
trigger piped to standard input); the other cases run the command in this process
(support/in_process_commands.py), where a process would prove nothing more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.https_servers import HttpsServer, reply
from support.in_process_commands import invoke_callout
from support.processes import run_callout

SECRET = "s3cr3t-value-that-must-not-leak"


@pytest.fixture
def loopback_env(loopback_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The loopback settings, and a database of this test's own."""
    return {**loopback_env, "CALLOUT_DATABASE_URL": str(tmp_path / "callout.db")}


def write_workflow(tmp_path: Path, url: str, **config: Any) -> Path:
    step = {"id": "create_user", "action": "make_https_request", "url": url, **config}
    doc = {
        "name": "Create user",
        "trigger": {"schema": {"type": "object", "required": ["email"]}},
        "steps": [step],
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(doc))
    return path


async def test_run_json_report_and_exit_0(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    https_server.script("/users", reply(503), reply(201, '{"id": "usr_1"}'))
    wf = write_workflow(
        tmp_path,
        https_server.url("/users"),
        body={"email": "{{ trigger.email }}"},
        headers=[{"key": "Authorization", "value": "Bearer {{ secrets.crm_signing }}"}],
        secret="{{ secrets.crm_signing }}",
        retry_intervals=[1],
    )
    code, out, err = await run_callout(
        "run",
        str(wf),
        "--trigger",
        "-",
        "--json",
        "--secret",
        f"crm_signing={SECRET}",
        env=loopback_env,
        stdin=b'{"email": "ada@example.com"}',
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "completed"
    (step,) = report["steps"]
    assert step["id"] == "create_user"
    assert step["status"] == "succeeded"
    assert [a["number"] for a in step["attempts"]] == [1, 2]
    assert [a.get("status") for a in step["attempts"]] == [503, 201]
    assert all({"started_at", "duration_ms"} <= set(a) for a in step["attempts"])
    assert step["output"]["body"] == {"id": "usr_1"}
    assert SECRET not in out
    assert SECRET not in err
    assert https_server.hits[0].headers["Authorization"] == f"Bearer {SECRET}"


async def test_failed_run_exits_1(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    https_server.script("/users", reply(400))
    wf = write_workflow(tmp_path, https_server.url("/users"), body={})
    trigger = tmp_path / "t.json"
    trigger.write_text('{"email": "x"}')
    code, out, err = await invoke_callout(
        "run", str(wf), "--trigger", str(trigger), env=loopback_env
    )
    assert code == 1
    assert "failed" in out
    assert "the server answered 400" in out + err


async def test_missing_secret_exits_2_before_sending(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    wf = write_workflow(
        tmp_path, https_server.url("/users"), body={}, secret="{{ secrets.crm_signing }}"
    )
    code, _, err = await invoke_callout(
        "run", str(wf), "--trigger", "-", env=loopback_env, stdin=b'{"email": "x"}'
    )
    assert code == 2
    assert "crm_signing" in err
    assert https_server.hits == []


async def test_secret_from_environment_is_used(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    wf = write_workflow(
        tmp_path, https_server.url("/users"), body={}, secret="{{ secrets.crm_signing }}"
    )
    env = {**loopback_env, "CALLOUT_SECRET_CRM_SIGNING": SECRET}
    code, _, err = await invoke_callout(
        "run", str(wf), "--trigger", "-", env=env, stdin=b'{"email": "x"}'
    )
    assert code == 0, err
    assert "Persona-Signature" in https_server.hits[0].headers


async def test_trigger_payload_failing_its_schema_exits_2(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    wf = write_workflow(tmp_path, https_server.url("/users"), body={})
    code, _, err = await invoke_callout(
        "run", str(wf), "--trigger", "-", env=loopback_env, stdin=b'{"name": "x"}'
    )
    assert code == 2
    assert '"email" is a required property' in err
    assert https_server.hits == []


async def test_missing_trigger_payload_is_checked_against_the_schema_too(
    https_server: HttpsServer, loopback_env: dict[str, str], tmp_path: Path
) -> None:
    wf = write_workflow(tmp_path, https_server.url("/users"), body={})
    code, _, err = await invoke_callout("run", str(wf), env=loopback_env)
    assert code == 2
    assert '"email" is a required property' in err
    assert https_server.hits == []


async def test_invalid_document_exits_2_listing_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(
        "name: x\nsteps:\n"
        "  - id: a\n    action: make_https_request\n    url: http://example.com\n"
        "    method: GET\n    body: {}\n"
        "    headers:\n      - {key: Host, value: x}\n"
    )
    code, _, err = await run_callout("validate", str(path), env={})
    assert code == 2
    assert "steps[0].url: must start with https://" in err
    assert "steps[0].body: a GET request has no body" in err
    assert "steps[0].headers[0].key: Host is set by the engine" in err
    code, _, err = await invoke_callout("run", str(path), env={})
    assert code == 2


@pytest.mark.parametrize("example", ["create-user.yaml", "charge-order.yaml"])
async def test_examples_validate(example: str) -> None:
    root = Path(__file__).parents[3]
    code, out, err = await invoke_callout("validate", str(root / "examples" / example), env={})
    assert code == 0, err
    assert "valid" in out
