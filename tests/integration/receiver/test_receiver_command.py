"""`callout receiver` as a command: options, usage errors, and a real process stopped by Ctrl-C."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from callout.cli.receiver import receiver_command
from callout.signing import sign

SECRET = "hunter2-receiver"


def test_help_lists_the_options_and_routes() -> None:
    result = CliRunner().invoke(receiver_command, ["--help"])
    assert result.exit_code == 0
    for word in (
        "--port",
        "--secret",
        "--status",
        "--delay",
        "--body",
        "--cert-dir",
        "--cert",
        "--key",
        "--signature-header",
        "/status/<code>",
        "/flaky/<n>",
        "/echo",
    ):
        assert word in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--cert", __file__],
        ["--status", "700"],
        ["--status", "100"],
        ["--delay", "-1"],
        ["--port", "70000"],
        ["--signature-header", "Bad Header"],
        ["--secret", "env:CALLOUT_TEST_UNSET_VARIABLE"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert CliRunner().invoke(receiver_command, args).exit_code == 2


def test_cert_dir_with_an_own_certificate_is_a_usage_error(tmp_path: Path) -> None:
    args = ["--cert", __file__, "--key", __file__, "--cert-dir", str(tmp_path)]
    result = CliRunner().invoke(receiver_command, args)
    assert result.exit_code == 2
    assert "--cert-dir" in result.stderr


def test_a_port_in_use_exits_1_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["--port", str(port), "--cert-dir", str(tmp_path / "certs")]
        result = CliRunner().invoke(receiver_command, args)
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_an_unusable_certificate_exits_1_with_the_reason(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    result = CliRunner().invoke(receiver_command, ["--cert", str(junk), "--key", str(junk)])
    assert result.exit_code == 1
    assert "--cert/--key cannot be used" in result.stderr


def read_until(process: subprocess.Popen[str], pattern: str) -> tuple[re.Match[str], str]:
    assert process.stdout is not None
    seen = ""
    while line := process.stdout.readline():
        seen += line
        if match := re.search(pattern, line):
            return match, seen
    raise AssertionError(f"the receiver ended before printing {pattern!r}:\n{seen}")


def test_a_real_receiver_process_prints_requests_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    cert_dir = tmp_path / "certs"
    process = subprocess.Popen(  # noqa: S603  # our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "callout.cli.receiver",
            "--port",
            "0",
            "--secret",
            "env:RCV_SECRET",
            "--cert-dir",
            str(cert_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RCV_SECRET": SECRET, "PYTHONUNBUFFERED": "1"},
    )
    try:
        match, banner = read_until(process, r"listening on https://127\.0\.0\.1:(\d+)")
        port = int(match[1])
        _, banner_rest = read_until(process, r"Ctrl-C stops it")
        banner += banner_rest
        ca = cert_dir / "ca.pem"
        assert f"CALLOUT_CA_BUNDLE={ca.resolve()} CALLOUT_ALLOWED_NETWORKS=127.0.0.1/32" in banner

        body = json.dumps({"email": "ada@example.com"}).encode()
        header = sign(body, [SECRET], timestamp=int(time.time()))
        context = ssl.create_default_context(cafile=str(ca))
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        connection.request(
            "POST",
            "/flaky/1/users",
            body=body,
            headers={"Persona-Signature": header, "Idempotency-Key": "stp_1"},
        )
        response = connection.getresponse()
        assert response.status == 503
        assert response.getheader("Retry-After") == "1"
        connection.close()
        _, printed = read_until(process, r"signature ok")
        assert "POST /flaky/1/users  -> 503" in printed
        assert "Idempotency-Key: stp_1" in printed

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "receiver stopped" in out
    assert "Traceback" not in err
    assert SECRET not in banner + printed + out + err
