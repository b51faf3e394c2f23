"""The operator's commands: `orgs`, `keys`, `keygen`, and starting `serve` and `api`.

`orgs`, `keys` and `keygen` run through click's runner against a real SQLite
file (a process would add nothing); `serve` and `api` run as real processes in
a fresh working directory, where the secret key file and its mode are real.
"""

from __future__ import annotations

import base64
import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from callout.cli.main import cli
from callout.store.encryption import load_secret_key
from support.processes import run_callout, stop_gently
from support.served_processes import free_port, serving_callout

URL_SAFE_KEY = re.compile(r"[A-Za-z0-9_-]{43}")
FULL_KEY = re.compile(r"callout_[A-Za-z0-9_-]{5,}")
"""More of an API key than its shown prefix (`callout_` and 4 characters)."""


def callout(*args: str, database: Path) -> Result:
    """Run `callout ARGS` in this process against the SQLite file `database`."""
    return CliRunner().invoke(
        cli, list(args), prog_name="callout", env={"CALLOUT_DATABASE_URL": str(database)}
    )


def created_org(database: Path, name: str = "Acme", plan: str = "growth") -> dict[str, Any]:
    result = callout("orgs", "create", name, "--plan", plan, "--json", database=database)
    assert result.exit_code == 0, result.output
    made: dict[str, Any] = json.loads(result.stdout)
    return made


def test_orgs_create_prints_the_organization_and_its_first_key_once(tmp_path: Path) -> None:
    database = tmp_path / "callout.db"
    result = callout("orgs", "create", "Acme", "--plan", "growth", "--json", database=database)
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert made["organization"]["id"].startswith("org_")
    assert made["organization"]["name"] == "Acme"
    assert made["organization"]["plan"] == "growth"
    assert made["key_id"].startswith("key_")
    key = made["api_key"]
    assert key.startswith("callout_")
    assert result.output.count(key) == 1

    listed = callout("keys", "list", made["organization"]["id"], "--json", database=database)
    assert [k["id"] for k in json.loads(listed.stdout)] == [made["key_id"]]


def test_orgs_create_without_json_says_the_key_is_shown_once(tmp_path: Path) -> None:
    result = callout("orgs", "create", "Acme", database=tmp_path / "callout.db")
    assert result.exit_code == 0, result.output
    assert "plan growth" in result.stdout
    assert re.search(r"API key \(shown once, keep it safe\): callout_\S+", result.stdout)


def test_orgs_list_shows_every_organization_with_its_plan(tmp_path: Path) -> None:
    database = tmp_path / "callout.db"
    acme = created_org(database, "Acme", "growth")["organization"]
    globex = created_org(database, "Globex", "startup")["organization"]

    result = callout("orgs", "list", database=database)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split() == [acme["id"], "growth", "Acme"]
    assert lines[1].split() == [globex["id"], "startup", "Globex"]

    listed = json.loads(callout("orgs", "list", "--json", database=database).stdout)
    assert [(o["id"], o["plan"]) for o in listed] == [
        (acme["id"], "growth"),
        (globex["id"], "startup"),
    ]


def test_orgs_plan_moves_an_organization_to_another_plan(tmp_path: Path) -> None:
    database = tmp_path / "callout.db"
    org_id = created_org(database)["organization"]["id"]

    result = callout("orgs", "plan", org_id, "startup", database=database)
    assert result.exit_code == 0, result.output
    assert f"organization {org_id} is on the startup plan" in result.stdout
    listed = json.loads(callout("orgs", "list", "--json", database=database).stdout)
    assert [o["plan"] for o in listed] == ["startup"]


def test_an_unknown_plan_is_a_usage_error(tmp_path: Path) -> None:
    result = callout("orgs", "create", "Acme", "--plan", "platinum", database=tmp_path / "db")
    assert result.exit_code == 2
    assert "platinum" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("orgs", "plan", "org_NOPE", "startup"),
        ("keys", "create", "org_NOPE"),
        ("keys", "list", "org_NOPE"),
    ],
    ids=["orgs plan", "keys create", "keys list"],
)
def test_an_unknown_organization_exits_1_and_says_so(tmp_path: Path, args: tuple[str, ...]) -> None:
    database = tmp_path / "callout.db"
    created_org(database)
    result = callout(*args, database=database)
    assert result.exit_code == 1, result.output
    assert "no organization org_NOPE" in result.stderr
    assert "Traceback" not in result.output


def test_keys_create_list_and_revoke(tmp_path: Path) -> None:
    database = tmp_path / "callout.db"
    org = created_org(database)
    org_id = org["organization"]["id"]

    made = callout("keys", "create", org_id, "--name", "ci", "--json", database=database)
    assert made.exit_code == 0, made.output
    new = json.loads(made.stdout)
    key, info = new["api_key"], new["key"]
    assert key.startswith("callout_")
    assert info["org_id"] == org_id
    assert info["name"] == "ci"
    assert key.startswith(info["prefix"])
    assert info["revoked_at"] is None

    plain = callout("keys", "create", org_id, database=database)
    assert plain.exit_code == 0, plain.output
    shown_once = re.search(
        r"API key key_\S+ \(shown once, keep it safe\): (callout_\S+)", plain.stdout
    )
    assert shown_once

    listed = callout("keys", "list", org_id, database=database)
    assert listed.exit_code == 0, listed.output
    assert len(listed.stdout.splitlines()) == 3
    assert f"{info['id']}  {info['prefix']}…  active" in listed.stdout
    listed_json = callout("keys", "list", org_id, "--json", database=database)
    assert [k["name"] for k in json.loads(listed_json.stdout)] == ["first key", "ci", "key"]
    for shown in (listed.output, listed_json.output):
        for secret in (org["api_key"], key, shown_once[1]):
            assert secret not in shown
        assert not FULL_KEY.search(shown)

    revoked = callout("keys", "revoke", info["id"], database=database)
    assert revoked.exit_code == 0, revoked.output
    assert f"API key {info['id']} revoked" in revoked.stdout
    after = {
        k["id"]: k
        for k in json.loads(callout("keys", "list", org_id, "--json", database=database).stdout)
    }
    assert after[info["id"]]["revoked_at"] is not None
    assert after[org["key_id"]]["revoked_at"] is None
    assert (
        f"{info['id']}  {info['prefix']}…  revoked"
        in callout("keys", "list", org_id, database=database).stdout
    )


def test_revoking_an_unknown_key_exits_1_and_says_so(tmp_path: Path) -> None:
    result = callout("keys", "revoke", "key_NOPE", database=tmp_path / "callout.db")
    assert result.exit_code == 1
    assert "no API key key_NOPE" in result.stderr


def test_keygen_prints_a_fresh_url_safe_key_that_callout_secret_key_accepts() -> None:
    first, second = CliRunner().invoke(cli, ["keygen"]), CliRunner().invoke(cli, ["keygen"])
    assert first.exit_code == 0
    key = first.stdout.strip()
    assert URL_SAFE_KEY.fullmatch(key), key
    assert len(base64.urlsafe_b64decode(key + "=")) == 32
    assert second.stdout.strip() != key
    loaded = load_secret_key({"CALLOUT_SECRET_KEY": key})
    assert loaded.source == "CALLOUT_SECRET_KEY"


@pytest.mark.parametrize("command", ["serve", "api"])
def test_help_describes_the_secret_key_and_the_docs(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], prog_name="callout")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "CALLOUT_SECRET_KEY" in text
    assert "CALLOUT_SECRET_KEY_FILE" in text
    assert "/docs" in text
    assert "/openapi.json" in text


def test_serve_help_says_where_it_creates_the_key() -> None:
    text = " ".join(CliRunner().invoke(cli, ["serve", "--help"]).stdout.split())
    assert ".callout/secret.key (mode 0600)" in text
    assert "callout orgs create" in text


async def test_api_without_a_key_exits_2_naming_callout_secret_key(workdir: Path) -> None:
    code, _, err = await run_callout("api", "--port", str(free_port()), env={})
    assert code == 2
    assert "CALLOUT_SECRET_KEY" in err
    assert "callout keygen" in err
    assert "Traceback" not in err
    assert not (workdir / ".callout").exists()


async def test_api_with_a_malformed_key_exits_2_and_says_why(workdir: Path) -> None:
    code, _, err = await run_callout(
        "api", "--port", str(free_port()), env={"CALLOUT_SECRET_KEY": "c2hvcnQ"}
    )
    assert code == 2
    assert "CALLOUT_SECRET_KEY must decode to 32 bytes, not 5" in err
    assert "c2hvcnQ" not in err


async def test_serve_in_a_fresh_directory_creates_a_private_key_file_and_says_where(
    workdir: Path,
) -> None:
    log = workdir / "serve.log"
    async with serving_callout("serve", env={}, log=log) as server:
        assert await stop_gently(server.process) == 0
    key_file = workdir / ".callout" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert URL_SAFE_KEY.fullmatch(key_file.read_text().strip())
    printed = log.read_text()
    assert f"created a secret key at {key_file.resolve()} (mode 0600)" in printed
    assert f"{server.base}/docs" in printed
    assert "Traceback" not in printed
    assert (workdir / "callout.db").exists()

    # `callout api` started in the same directory finds the key serve made.
    async with serving_callout("api", env={}, log=log) as api:
        assert await stop_gently(api.process) == 0
    fingerprint = load_secret_key({"CALLOUT_SECRET_KEY": key_file.read_text()}).cipher.fingerprint
    assert f"secret key from {key_file.resolve()} (fingerprint {fingerprint})" in log.read_text()
