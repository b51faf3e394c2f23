"""`callout hosts`: per-host limits and paused hosts from the operator's shell.

The commands run through click's runner in this process against a real SQLite
file. For a paused host, the API and a worker with delivery control run on this
test's loop (`support/paused_hosts.py`) while each command runs in a thread (a
command runs its own event loop).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callout.cli.main import cli
from callout.http import AiohttpTransport
from callout.store.sql_store import SqlStore
from support.api_clients import api_service, finished_run
from support.https_servers import HttpsServer
from support.paused_hosts import HOST, Ticks, delivering, pause_host, trigger
from support.polling import eventually


def callout(*args: str, database: Path) -> Result:
    """Run `callout ARGS` in this process against the SQLite file `database`."""
    return CliRunner().invoke(
        cli, list(args), prog_name="callout", env={"CALLOUT_DATABASE_URL": str(database)}
    )


def created_org(database: Path) -> str:
    result = callout("orgs", "create", "Acme", "--json", database=database)
    assert result.exit_code == 0, result.output
    org_id: str = json.loads(result.stdout)["organization"]["id"]
    return org_id


async def test_a_paused_host_is_listed_and_resume_sends_its_waiting_run_at_once(
    workdir: Path, sqlite_store: SqlStore, transport: AiohttpTransport, https_server: HttpsServer
) -> None:
    database = workdir / "callout.db"  # the file `sqlite_store` opened

    async def command(*args: str) -> Result:
        return await asyncio.to_thread(callout, *args, database=database)

    async with api_service(sqlite_store, transport) as service:
        acme = await service.org()
        ticks = Ticks()
        async with delivering(service, ticks):
            workflow_id = await pause_host(acme, https_server, ticks)

            listed = await command("hosts", "list", acme.id)

            assert listed.exit_code == 0, listed.output
            [line] = listed.stdout.splitlines()
            assert line.startswith(f"{HOST}  open      next probe 20")
            assert line.endswith(
                "1 failures, 0 in flight, 0 waiting, last error http_status 503; "
                "paused after 1 failures for 600 s"
            )
            waiting_run = await trigger(acme, workflow_id)

            async def held_back() -> bool:
                found = await command("hosts", "list", acme.id, "--json")
                return bool(json.loads(found.stdout)["hosts"][0]["waiting"] == 1)

            await eventually(held_back, "the run to wait for the paused host", every=0.05)

            resumed = await command("hosts", "resume", acme.id, HOST)

            assert resumed.exit_code == 0, resumed.output
            assert resumed.stdout == (
                f"{HOST} resumed: breaker closed; waiting step runs are due now\n"
            )
            assert (await finished_run(acme, waiting_run))["status"] == "completed"
        unknown = await command("hosts", "resume", acme.id, "nowhere.example.com")
    assert (unknown.exit_code, unknown.stderr) == (1, "no state for host nowhere.example.com\n")


def test_a_limit_is_set_shown_listed_and_removed(workdir: Path) -> None:
    database = workdir / "callout.db"
    org_id = created_org(database)

    made = callout(
        "hosts",
        "limit",
        org_id,
        "API.example.com",
        "--in-flight",
        "5",
        "--rate",
        "10",
        "--burst",
        "20",
        database=database,
    )

    assert made.exit_code == 0, made.output
    said = (
        "api.example.com: at most 5 in flight, 10/s (burst 20), paused after 5 failures for 30 s\n"
    )
    assert made.stdout == said
    assert callout("hosts", "limit", org_id, "api.example.com", database=database).stdout == said
    every = callout("hosts", "limit", org_id, "*", "--breaker-failures", "0", database=database)
    assert every.stdout == "*: breaker off\n"
    listed = callout("hosts", "list", org_id, database=database).stdout.splitlines()
    assert listed[0].startswith("api.example.com  closed")
    assert listed[0].endswith(
        "; at most 5 in flight, 10/s (burst 20), paused after 5 failures for 30 s"
    )
    assert listed[1] == "* (every host without a limit of its own): breaker off"

    removed = callout("hosts", "unlimit", org_id, "api.example.com", database=database)

    assert (removed.exit_code, removed.stdout) == (0, "api.example.com: limit removed\n")
    unlimited = callout("hosts", "limit", org_id, "api.example.com", database=database)
    assert unlimited.stdout == "api.example.com has no limit of its own\n"
    again = callout("hosts", "unlimit", org_id, "api.example.com", database=database)
    assert (again.exit_code, again.stderr) == (1, "no limit for host api.example.com\n")


def test_limit_refuses_every_problem_at_once_and_an_unknown_org(workdir: Path) -> None:
    database = workdir / "callout.db"
    org_id = created_org(database)

    refused = callout(
        "hosts",
        "limit",
        org_id,
        "api.example.com:443",
        "--in-flight",
        "0",
        "--burst",
        "3",
        database=database,
    )
    unknown = callout("hosts", "list", "org_NOPE", database=database)

    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        "HOST: must not carry a port: a host's limit covers every port",
        "--in-flight: must be 1 to 10000, got 0",
        (
            "--burst: needs a rate: a burst is how many requests the rate lets go at once "
            "(set --rate too, or leave the burst out)"
        ),
    ]
    assert callout("hosts", "list", org_id, database=database).stdout == (
        "no hosts: nothing limited, nothing paused\n"
    )
    assert (unknown.exit_code, unknown.stderr) == (1, "no organization org_NOPE\n")


@pytest.mark.parametrize("command", ["list", "limit", "unlimit", "resume"])
def test_every_hosts_command_explains_itself_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, ["hosts", command, "--help"], prog_name="callout")

    assert result.exit_code == 0, result.output
    assert f"callout hosts {command} org_01J..." in result.stdout
