"""`callout import-curl`: the step as YAML or JSON, secrets, notes, exit codes.

Reading a command piped to standard input is a real process (`python -m callout`);
the other cases run the command in this process (support/in_process_commands.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from callout.cli.main import cli
from callout.model.loading import parse_document
from support.in_process_commands import invoke_callout
from support.processes import run_callout

FIXTURES = Path(__file__).parents[2] / "fixtures" / "curl"
TWILIO = FIXTURES / "twilio_messages_create.curl"
STRIPE = FIXTURES / "stripe_charge_create.curl"


def expected(path: Path) -> Any:
    return json.loads(
        path.with_name(path.name.removesuffix(".curl") + ".expected.json").read_text()
    )


async def test_a_file_prints_the_step_as_yaml_and_the_secrets_and_notes_on_stderr(
    workdir: Path,
) -> None:
    code, out, err = await invoke_callout("import-curl", str(TWILIO), env={})
    assert code == 0, err
    want = expected(TWILIO)
    assert parse_document(out) == [want["step"]]
    assert out.startswith("- id: twilio_messages\n")
    assert err.splitlines() == [
        "secrets to store (the step references them; their values are not in it):",
        "  twilio_auth_token  from -u password",
        "store them for the service (or on the dashboard's Secrets page):",
        (
            '  curl -H "Authorization: Bearer $CALLOUT_API_KEY" "$CALLOUT_URL/v1/secrets" '
            "-H 'content-type: application/json' "
            """-d '{"name": "twilio_auth_token", "value": "..."}'"""
        ),
        "or give them to callout run (value, env:VAR or @file):",
        "  callout run WORKFLOW --secret twilio_auth_token=env:TWILIO_AUTH_TOKEN",
        "or to callout worker, in its environment:",
        "  export CALLOUT_SECRET_TWILIO_AUTH_TOKEN=...",
        "notes:",
        (
            "  - placeholders are kept as text; replace them before the step runs: "
            "$TWILIO_ACCOUNT_SID (url, auth.username)"
        ),
    ]


async def test_standard_input_with_json_and_an_id(workdir: Path) -> None:
    code, out, err = await run_callout(
        "import-curl", "-", "--json", "--id", "charge", env={}, stdin=STRIPE.read_bytes()
    )
    assert code == 0, err
    want = expected(STRIPE)
    want["step"]["id"] = "charge"
    assert json.loads(out) == want
    assert err == ""


async def test_the_imported_step_passes_callout_validate_with_its_secrets(workdir: Path) -> None:
    code, out, err = await invoke_callout("import-curl", str(STRIPE), env={})
    assert code == 0, err
    document = workdir / "wf.yaml"
    document.write_text(
        "name: Charge\nsteps:\n" + "".join(f"  {line}\n" for line in out.splitlines())
    )
    code, out, err = await invoke_callout(
        "validate", str(document), "--secret", "stripe_api_key", env={}
    )
    assert (code, err) == (0, "")
    assert "needs secrets: stripe_api_key" in out


async def test_a_command_it_cannot_read_exits_2_naming_the_flag(workdir: Path) -> None:
    path = FIXTURES / "mailgun_messages_form.curl"
    code, out, err = await invoke_callout("import-curl", str(path), env={})
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "cannot import the curl command (1 problem):",
        (
            "  -F is not supported: it sends a multipart/form-data body, which callout does not "
            "send (it sends JSON, form (x-www-form-urlencoded) or raw bodies)"
        ),
    ]
    assert "YOUR_API_KEY" not in err


async def test_json_errors_are_json_on_stdout(workdir: Path) -> None:
    code, out, _ = await invoke_callout(
        "import-curl", "--json", env={}, stdin=b"curl 'https://a.example.com"
    )
    assert code == 2
    assert json.loads(out) == {
        "problems": [
            {
                "path": "command",
                "message": "the command cannot be read: a ' quote opened at line 1, column 6 "
                "is never closed",
            }
        ]
    }


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["missing.curl"], b"", "cannot read missing.curl: No such file or directory"),
        (["-"], b"\xff\xfe curl", "cannot read standard input: not UTF-8 text"),
        (["-", "--id", "Bad"], b"curl https://a.example.com", "the step id must be a-z"),
    ],
)
async def test_unreadable_input_exits_2_with_a_clear_line(
    workdir: Path, args: list[str], stdin: bytes, message: str
) -> None:
    code, out, err = await invoke_callout("import-curl", *args, env={}, stdin=stdin)
    assert (code, out) == (2, "")
    assert message in err
    assert "Traceback" not in err


def test_no_fixture_credential_is_printed_on_either_stream() -> None:
    credentials = (
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "e93facc04764012d7bfb002500d5d1a6",
        "c2547eb745079dac9320b638f5e225cf483cc5cfdda41",
        "Xy7PqR2sT9uV",
    )
    for path in sorted(FIXTURES.glob("*.curl")):
        for options in ([], ["--json"]):
            result = CliRunner().invoke(cli, ["import-curl", str(path), *options])
            assert result.exit_code in {0, 2}, (path, result.output)
            for credential in credentials:
                assert credential not in result.output, path
