"""`callout receiver --client-ca`: mutual TLS required, the client's subject shown per request.

And `--make-client-cert`: a client certificate from the receiver's own CA to try it with.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import ssl
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from ipaddress import ip_network
from pathlib import Path

import aiohttp
import pytest
import trustme
from click.testing import CliRunner

from callout.cli.receiver import receiver_command
from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import ClientCertificateError
from callout.receiver import (
    RunningReceiver,
    format_request,
    format_startup,
    issue_client_certificate,
    start_receiver,
)
from support.receiver_clients import RECEIVER_SECRET

CLIENT_SUBJECT = "CN=callout receiver client,O=callout receiver"


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA(organization_name="Partner clients")


@pytest.fixture
def client_ca_file(client_ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "client-ca.pem"
    client_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def mtls_receiver(cert_dir: Path, client_ca_file: Path) -> AsyncIterator[RunningReceiver]:
    async with await start_receiver(
        secret=RECEIVER_SECRET, cert_dir=cert_dir, client_ca=client_ca_file
    ) as running:
        yield running


@pytest.fixture
async def transport(mtls_receiver: RunningReceiver) -> AsyncIterator[AiohttpTransport]:
    """callout's own transport, trusting the receiver's CA and reaching loopback."""
    config = TransportConfig(
        allowed_networks=(ip_network("127.0.0.1/32"),), ca_bundle=mtls_receiver.ca_path
    )
    real = AiohttpTransport(config)
    yield real
    await real.aclose()


def client_context(ca_path: Path | None, leaf: trustme.LeafCert | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_path) if ca_path else None)
    if leaf is not None:
        leaf.configure_cert(context)
    return context


async def test_a_client_certificate_from_the_ca_is_accepted_and_its_subject_shown(
    mtls_receiver: RunningReceiver, client_ca: trustme.CA
) -> None:
    leaf = client_ca.issue_cert("partner@example.com", common_name="partner-client")
    context = client_context(mtls_receiver.ca_path, leaf)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{mtls_receiver.url}/orders", data=b"{}", ssl=context) as response,
    ):
        assert response.status == 200
    (received,) = mtls_receiver.requests
    assert received.client_certificate is not None
    assert received.client_certificate.startswith("CN=partner-client,")
    shown = format_request(received, signature_header="Persona-Signature")
    assert f"  client certificate: {received.client_certificate}" in shown


@pytest.mark.parametrize("who", ["nobody", "a stranger"])
async def test_a_handshake_without_an_accepted_certificate_is_refused(
    mtls_receiver: RunningReceiver, who: str
) -> None:
    leaf = trustme.CA().issue_cert("stranger@example.com") if who == "a stranger" else None
    context = client_context(mtls_receiver.ca_path, leaf)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(mtls_receiver.url, ssl=context):
                pass
    assert mtls_receiver.requests == []


async def test_callout_without_a_certificate_is_told_to_set_one(
    mtls_receiver: RunningReceiver, transport: AiohttpTransport
) -> None:
    with pytest.raises(ClientCertificateError, match="set client_certificate to a stored"):
        await transport.send(OutboundRequest("GET", mtls_receiver.url + "/"))
    assert mtls_receiver.requests == []


async def test_callout_presents_its_certificate_and_the_receiver_shows_it(
    mtls_receiver: RunningReceiver, transport: AiohttpTransport, client_ca: trustme.CA
) -> None:
    leaf = client_ca.issue_cert("callout@example.com", common_name="callout-worker")
    pem = leaf.private_key_and_cert_chain_pem.bytes().decode()
    response = await transport.send(
        OutboundRequest("POST", mtls_receiver.url + "/echo", body=b"{}", client_certificate=pem)
    )
    assert response.status == 200
    (received,) = mtls_receiver.requests
    assert str(received.client_certificate).startswith("CN=callout-worker,")


async def test_without_client_ca_no_certificate_is_asked_and_none_shown(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.get(receiver.url) as response:
        assert response.status == 200
    (received,) = receiver.requests
    assert received.client_certificate is None
    assert "client certificate" not in format_request(received, signature_header="X")
    assert "client certificates" not in format_startup(receiver)


def test_the_startup_lines_say_client_certificates_are_required(
    mtls_receiver: RunningReceiver, client_ca_file: Path
) -> None:
    banner = format_startup(mtls_receiver)
    assert f"client certificates: required, issued by a CA in {client_ca_file.resolve()}" in banner


# --- a client certificate from the receiver's own CA -----------------------------


def test_the_made_client_certificate_is_private_and_from_the_receivers_ca(
    cert_dir: Path, tmp_path: Path
) -> None:
    path = issue_client_certificate(cert_dir, tmp_path / "client")
    assert path == tmp_path / "client" / "client.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.count("BEGIN CERTIFICATE") == 1
    assert "BEGIN PRIVATE KEY" in text
    assert (cert_dir / "ca.pem").is_file()


async def test_the_made_client_certificate_passes_the_receivers_own_client_ca(
    cert_dir: Path, tmp_path: Path
) -> None:
    pem = issue_client_certificate(cert_dir, tmp_path / "client").read_text()
    async with await start_receiver(
        secret=RECEIVER_SECRET, cert_dir=cert_dir, client_ca=cert_dir / "ca.pem"
    ) as running:
        config = TransportConfig(
            allowed_networks=(ip_network("127.0.0.1/32"),), ca_bundle=running.ca_path
        )
        transport = AiohttpTransport(config)
        try:
            response = await transport.send(
                OutboundRequest("GET", running.url + "/", client_certificate=pem)
            )
        finally:
            await transport.aclose()
        assert response.status == 200
        (received,) = running.requests
        assert received.client_certificate == CLIENT_SUBJECT


# --- the command -----------------------------------------------------------------


def test_help_lists_client_ca_and_make_client_cert() -> None:
    result = CliRunner().invoke(receiver_command, ["--help"])
    assert "--client-ca" in result.output
    assert "--make-client-cert" in result.output


def test_make_client_cert_writes_the_file_says_how_to_use_it_and_exits(tmp_path: Path) -> None:
    cert_dir, out = tmp_path / "certs", tmp_path / "out"
    args = ["--cert-dir", str(cert_dir), "--make-client-cert", str(out)]
    result = CliRunner().invoke(receiver_command, args)
    assert result.exit_code == 0, result.output
    assert (out / "client.pem").is_file()
    assert f"--client-ca {(cert_dir / 'ca.pem').resolve()}" in result.output
    assert "PRIVATE KEY" not in result.output


def test_make_client_cert_with_an_own_certificate_is_a_usage_error(tmp_path: Path) -> None:
    args = ["--cert", __file__, "--key", __file__, "--make-client-cert", str(tmp_path)]
    result = CliRunner().invoke(receiver_command, args)
    assert result.exit_code == 2
    assert "--make-client-cert" in result.stderr


def test_a_client_ca_that_is_not_pem_exits_1_with_the_reason(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    args = ["--port", "0", "--cert-dir", str(tmp_path / "certs"), "--client-ca", str(junk)]
    result = CliRunner().invoke(receiver_command, args)
    assert result.exit_code == 1
    assert f"--client-ca: {junk} holds no PEM certificate to trust" in result.stderr


def test_a_real_receiver_process_with_client_ca_prints_the_subject(tmp_path: Path) -> None:
    cert_dir = tmp_path / "certs"
    made = CliRunner().invoke(
        receiver_command,
        ["--cert-dir", str(cert_dir), "--make-client-cert", str(tmp_path / "out")],
    )
    assert made.exit_code == 0, made.output
    process = subprocess.Popen(  # noqa: S603  # our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "callout.cli.receiver",
            "--port",
            "0",
            "--cert-dir",
            str(cert_dir),
            "--client-ca",
            str(cert_dir / "ca.pem"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = ""
        while "Ctrl-C stops it" not in banner and (line := process.stdout.readline()):
            banner += line
        match = re.search(r"listening on https://127\.0\.0\.1:(\d+)", banner)
        assert match, banner
        assert "client certificates: required" in banner
        context = ssl.create_default_context(cafile=str(cert_dir / "ca.pem"))
        context.load_cert_chain(tmp_path / "out" / "client.pem")
        connection = http.client.HTTPSConnection(
            "127.0.0.1", int(match[1]), context=context, timeout=10
        )
        connection.request("GET", "/status/204")
        assert connection.getresponse().status == 204
        connection.close()
        printed = ""
        while "client certificate:" not in printed and (line := process.stdout.readline()):
            printed += line
        assert f"client certificate: {CLIENT_SUBJECT}" in printed
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
