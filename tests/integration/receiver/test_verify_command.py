"""`callout verify`: exit 0 and `valid (...)`, exit 1 with the reason, exit 2 for usage."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callout.cli.verify import verify_command
from callout.signing import sign

SECRET = "hunter2-verify"
BODY = b'{"inquiry":"inq_123","email":"ada@example.com"}'
T = 1_700_000_000
NOW = str(T + 10)


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    return path


def run(*args: str, input_bytes: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(verify_command, list(args), input=input_bytes, env=env)


def assert_secret_not_shown(result: Result) -> None:
    assert SECRET not in result.output
    assert SECRET not in result.stderr


def test_a_valid_signature_exits_0_with_its_time_and_age(body_file: Path) -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    result = run(
        "--secret", SECRET, "--header", header, "--body-file", str(body_file), "--now", NOW
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"valid (t={T}, age 10 s)\n"
    assert_secret_not_shown(result)


def test_a_wrong_secret_exits_1_with_the_reason_on_stderr(body_file: Path) -> None:
    header = sign(BODY, ["another-one"], timestamp=T)
    result = run(
        "--secret", SECRET, "--header", header, "--body-file", str(body_file), "--now", NOW
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "invalid: no signature matches" in result.stderr
    assert_secret_not_shown(result)


def test_a_changed_body_exits_1(body_file: Path) -> None:
    header = sign(BODY + b" ", [SECRET], timestamp=T)
    result = run(
        "--secret", SECRET, "--header", header, "--body-file", str(body_file), "--now", NOW
    )
    assert result.exit_code == 1
    assert "body changed" in result.stderr


def test_a_stale_signature_exits_1_unless_the_tolerance_allows_it(body_file: Path) -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    args = ["--secret", SECRET, "--header", header, "--body-file", str(body_file)]
    stale = run(*args, "--now", str(T + 400))
    assert stale.exit_code == 1
    assert "timestamp too old: signed 400 s ago" in stale.stderr
    allowed = run(*args, "--now", str(T + 400), "--tolerance", "600")
    assert allowed.exit_code == 0
    assert "age 400 s" in allowed.stdout


def test_a_future_signature_within_tolerance_says_how_far_ahead(body_file: Path) -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    result = run(
        "--secret", SECRET, "--header", header, "--body-file", str(body_file), "--now", str(T - 5)
    )
    assert result.exit_code == 0
    assert result.stdout == f"valid (t={T}, 5 s in the future)\n"


def test_a_malformed_header_exits_1(body_file: Path) -> None:
    result = run("--secret", SECRET, "--header", "sha256=abc", "--body-file", str(body_file))
    assert result.exit_code == 1
    assert "malformed signature header" in result.stderr


def test_the_secret_can_come_from_the_environment(body_file: Path) -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    result = run(
        "--secret",
        "env:CRM_SECRET",
        "--header",
        header,
        "--body-file",
        str(body_file),
        "--now",
        NOW,
        env={"CRM_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    assert_secret_not_shown(result)


def test_a_missing_environment_variable_is_a_usage_error(body_file: Path) -> None:
    result = run(
        "--secret",
        "env:CALLOUT_TEST_UNSET_VARIABLE",
        "--header",
        "t=1,v1=a",
        "--body-file",
        str(body_file),
    )
    assert result.exit_code == 2
    assert "CALLOUT_TEST_UNSET_VARIABLE is not set" in result.stderr


def test_the_secret_can_come_from_a_file(body_file: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    header = sign(BODY, [SECRET], timestamp=T)
    result = run(
        "--secret",
        f"@{secret_file}",
        "--header",
        header,
        "--body-file",
        str(body_file),
        "--now",
        NOW,
    )
    assert result.exit_code == 0, result.output


def test_an_unreadable_secret_file_is_a_usage_error(body_file: Path, tmp_path: Path) -> None:
    result = run(
        "--secret", f"@{tmp_path / 'nope'}", "--header", "x", "--body-file", str(body_file)
    )
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_any_of_several_secrets_verifies(body_file: Path) -> None:
    header = sign(BODY, ["new-one", SECRET], timestamp=T)
    result = run(
        "--secret",
        "unrelated",
        "--secret",
        SECRET,
        "--header",
        header,
        "--body-file",
        str(body_file),
        "--now",
        NOW,
    )
    assert result.exit_code == 0


def test_the_body_can_come_from_stdin() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    result = run(
        "--secret", SECRET, "--header", header, "--body-file", "-", "--now", NOW, input_bytes=BODY
    )
    assert result.exit_code == 0, result.output


def test_a_header_pasted_with_its_name_is_accepted(body_file: Path) -> None:
    header = "Persona-Signature: " + sign(BODY, [SECRET], timestamp=T)
    result = run(
        "--secret", SECRET, "--header", header, "--body-file", str(body_file), "--now", NOW
    )
    assert result.exit_code == 0


def test_a_body_with_an_added_final_newline_fails_with_a_hint(tmp_path: Path) -> None:
    edited = tmp_path / "edited.json"
    edited.write_bytes(BODY + b"\n")
    header = sign(BODY, [SECRET], timestamp=T)
    result = run("--secret", SECRET, "--header", header, "--body-file", str(edited), "--now", NOW)
    assert result.exit_code == 1
    assert "hint: it verifies without the body's final newline" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--header", "t=1,v1=a", "--body-file", "-"],
        ["--secret", "s", "--body-file", "-"],
        ["--secret", "s", "--header", "t=1,v1=a"],
        ["--secret", "s", "--header", "h", "--body-file", "/nonexistent/body.json"],
        ["--secret", "s", "--header", "h", "--body-file", "-", "--tolerance", "-1"],
        ["--secret", "", "--header", "h", "--body-file", "-"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args, input_bytes=b"").exit_code == 2
