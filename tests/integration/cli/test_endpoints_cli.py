"""`callout endpoints`: notification endpoints from the operator's shell, straight on the database.

The commands run through click's runner in this process against a real SQLite
file (a process would add a second of start-up and nothing else).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from callout.cli.main import cli
from callout.model.clock import SystemClock
from callout.store.database import database_url
from callout.store.encryption import load_secret_key, new_key_text
from callout.store.sql_store import open_store

HOOK = "https://hooks.example.com/callout"


@pytest.fixture
def secret_key(workdir: Path) -> str:
    del workdir  # no key inherited from the environment
    return new_key_text()


def callout(*args: str, database: Path, key: str | None = None) -> Result:
    """Run `callout ARGS` in this process against the SQLite file `database`."""
    env = {"CALLOUT_DATABASE_URL": str(database)}
    if key is not None:
        env["CALLOUT_SECRET_KEY"] = key
    return CliRunner().invoke(cli, list(args), prog_name="callout", env=env)


def created_org(database: Path, name: str = "Acme") -> str:
    result = callout("orgs", "create", name, "--json", database=database)
    assert result.exit_code == 0, result.output
    org_id: str = json.loads(result.stdout)["organization"]["id"]
    return org_id


def added(database: Path, key: str, org_id: str, *args: str) -> dict[str, Any]:
    result = callout("endpoints", "add", org_id, *args, "--json", database=database, key=key)
    assert result.exit_code == 0, result.output
    made: dict[str, Any] = json.loads(result.stdout)
    return made


def secret_values(database: Path, key: str, org_id: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        store = await open_store(database_url(str(database)))
        try:
            cipher = load_secret_key({"CALLOUT_SECRET_KEY": key}).cipher
            values = await store.accounts.secret_values(
                cipher, org_id=org_id, now=SystemClock().now()
            )
            return dict(values.current)
        finally:
            await store.close()

    return asyncio.run(read())


def test_add_prints_the_signing_secret_once_and_keeps_it_as_an_org_secret(
    workdir: Path, secret_key: str
) -> None:
    database = workdir / "callout.db"
    org_id = created_org(database)

    result = callout(
        "endpoints",
        "add",
        org_id,
        "Ops alerts",
        HOOK,
        "--event",
        "run.failed",
        "--event",
        "host.paused",
        "--format",
        "slack",
        database=database,
        key=secret_key,
    )

    assert result.exit_code == 0, result.output
    found = re.search(r"signing secret \(shown once, keep it safe\): (\S+)", result.stdout)
    assert found is not None
    secret_name = re.search(r"organization secret (run_events_[0-9a-f]{10})", result.stdout)
    assert secret_name is not None
    assert secret_values(database, secret_key, org_id) == {secret_name[1]: found[1]}
    listed = callout("endpoints", "list", org_id, database=database)
    assert listed.exit_code == 0, listed.output
    [line] = listed.stdout.splitlines()
    assert line.split()[1:] == [
        "enabled",
        "Ops",
        "alerts",
        HOOK,
        "run.failed,host.paused",
        "(slack)",
    ]
    assert found[1] not in listed.stdout
    as_json = json.loads(callout("endpoints", "list", org_id, "--json", database=database).stdout)
    assert [e["secret_name"] for e in as_json] == [secret_name[1]]
    assert "signing_secret" not in as_json[0]


def test_add_refuses_every_problem_at_once_and_stores_nothing(
    workdir: Path, secret_key: str
) -> None:
    database = workdir / "callout.db"
    org_id = created_org(database)

    result = callout(
        "endpoints",
        "add",
        org_id,
        "Ops",
        "http://hooks.example.com/",
        "--event",
        "run.exploded",
        "--format",
        "teams",
        database=database,
        key=secret_key,
    )

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "URL: must start with https://",
        "--event[0]: is not an event; one of run.failed, run.completed, step.errored, host.paused",
        "--format: must be one of callout, slack",
    ]
    no_events = callout("endpoints", "add", org_id, "Ops", HOOK, database=database, key=secret_key)
    assert no_events.exit_code == 2
    assert no_events.stderr.startswith("--event: must list at least one event: run.failed")
    assert callout("endpoints", "list", org_id, database=database).stdout == (
        "no notification endpoints\n"
    )


def test_add_without_a_secret_key_or_for_an_unknown_org_says_so(
    workdir: Path, secret_key: str
) -> None:
    database = workdir / "callout.db"
    org_id = created_org(database)
    args = ("Ops", HOOK, "--event", "run.failed")

    keyless = callout("endpoints", "add", org_id, *args, database=database)
    unknown = callout("endpoints", "add", "org_NOPE", *args, database=database, key=secret_key)

    assert keyless.exit_code == 2
    assert "cannot store the signing secret: no secret key" in keyless.stderr
    assert unknown.exit_code == 1
    assert unknown.stderr == "no organization org_NOPE\n"


def test_a_taken_name_exits_1_and_update_changes_only_what_is_given(
    workdir: Path, secret_key: str
) -> None:
    database = workdir / "callout.db"
    org_id = created_org(database)
    made = added(database, secret_key, org_id, "Ops", HOOK, "--event", "run.failed")

    taken = callout(
        "endpoints",
        "add",
        org_id,
        "Ops",
        HOOK,
        "--event",
        "run.completed",
        database=database,
        key=secret_key,
    )
    assert taken.exit_code == 1
    assert "notification endpoint named 'Ops' exists" in taken.stderr
    assert list(secret_values(database, secret_key, org_id)) == [made["secret_name"]]

    result = callout(
        "endpoints",
        "update",
        org_id,
        made["id"],
        "--disable",
        "--event",
        "step.errored",
        "--json",
        database=database,
    )

    assert result.exit_code == 0, result.output
    changed = json.loads(result.stdout)
    assert (changed["enabled"], changed["events"]) == (False, ["step.errored"])
    assert (changed["name"], changed["url"], changed["format"]) == ("Ops", HOOK, "callout")
    bad_url = callout("endpoints", "update", org_id, made["id"], "--url", "x", database=database)
    assert (bad_url.exit_code, bad_url.stderr) == (2, "URL: must start with https://\n")


def test_remove_takes_the_secret_with_it_and_an_unknown_endpoint_exits_1(
    workdir: Path, secret_key: str
) -> None:
    database = workdir / "callout.db"
    org_id = created_org(database)
    made = added(database, secret_key, org_id, "Ops", HOOK, "--event", "run.failed")

    result = callout("endpoints", "remove", org_id, made["id"], database=database)

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"endpoint {made['id']} (Ops) removed, with its secret {made['secret_name']}\n"
    )
    assert secret_values(database, secret_key, org_id) == {}
    again = callout("endpoints", "remove", org_id, made["id"], database=database)
    assert again.exit_code == 1
    assert made["id"] in again.stderr


@pytest.mark.parametrize("command", ["list", "add", "update", "remove"])
def test_every_endpoints_command_explains_itself_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, ["endpoints", command, "--help"], prog_name="callout")

    assert result.exit_code == 0, result.output
    assert f"callout endpoints {command} org_01J..." in result.stdout
