"""`callout validate` and `run --trigger` refuse hostile JSON and YAML: exit 2, a clear line.

Without the one JSON reader these end in a RecursionError traceback (exit 1) or, for
a lone surrogate, a crash when the value is written out. The commands run in this
process (support/in_process_commands.py), where such a crash is raised, not hidden.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.https_servers import HttpsServer
from support.in_process_commands import invoke_callout

DEEP = "nested deeper than 64 levels of arrays and objects"


@pytest.fixture
def loopback_env(loopback_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The loopback settings, and a database of this test's own."""
    return {**loopback_env, "CALLOUT_DATABASE_URL": str(tmp_path / "callout.db")}


def workflow_text(url: str, body: str) -> str:
    """A one-step JSON workflow whose step body is the JSON text `body`."""
    step = {"id": "create_user", "action": "make_https_request", "url": url, "body": "BODY"}
    doc = {"name": "Create user", "trigger": {"schema": {"type": "object"}}, "steps": [step]}
    return json.dumps(doc).replace('"BODY"', body)


async def test_validate_refuses_a_json_document_nested_1000_deep(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    path.write_text(workflow_text("https://api.test/x", "[" * 1000 + "]" * 1000))
    code, _, err = await invoke_callout("validate", str(path), env={})
    assert code == 2, err
    assert "steps[0].body[0][0]" in err
    assert DEEP in err
    assert "Traceback" not in err


async def test_validate_refuses_a_yaml_document_nested_1000_deep(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text("name: deep\nsteps:\n  - body: " + "[" * 1000 + "]" * 1000 + "\n")
    code, _, err = await invoke_callout("validate", str(path), env={})
    assert code == 2, err
    assert f"is not valid YAML: {DEEP} (line 3, column" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ('{"a": ' + "[" * 1000 + "]" * 1000 + "}", DEEP),
        ('{"email": "\\ud800"}', "email: holds a lone surrogate (\\ud800)"),
    ],
)
async def test_run_refuses_a_hostile_trigger_payload_before_sending(
    https_server: HttpsServer,
    loopback_env: dict[str, str],
    tmp_path: Path,
    payload: str,
    says: str,
) -> None:
    workflow = tmp_path / "wf.json"
    workflow.write_text(workflow_text(https_server.url("/users"), "{}"))
    trigger = tmp_path / "payload.txt"
    trigger.write_text(payload)
    code, _, err = await invoke_callout(
        "run", str(workflow), "--trigger", str(trigger), env=loopback_env
    )
    assert code == 2, err
    assert says in err
    assert "Traceback" not in err
    assert https_server.hits == []
