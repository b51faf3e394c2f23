"""The generated local CA and server certificate: what they cover, reuse, permissions."""

from __future__ import annotations

import ssl
import stat
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import aiohttp
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from callout.receiver import RunningReceiver, ensure_local_certificates, start_receiver
from support.receiver_clients import RECEIVER_SECRET, client_for

FILES = ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("server_hostname", ["127.0.0.1", "localhost", "::1"])
async def test_the_generated_certificate_verifies_for_each_loopback_name(
    receiver: RunningReceiver, client: aiohttp.ClientSession, server_hostname: str
) -> None:
    url = f"https://127.0.0.1:{receiver.port}/status/200"
    async with client.get(url, server_hostname=server_hostname) as response:
        assert response.status == 200


async def test_the_generated_certificate_does_not_verify_for_another_name(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    url = f"https://127.0.0.1:{receiver.port}/"
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        async with client.get(url, server_hostname="api.example.com"):
            pass


async def test_a_client_without_the_ca_refuses_the_receiver(receiver: RunningReceiver) -> None:
    async with client_for(None) as stranger:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with stranger.get(receiver.url):
                pass


async def test_the_certificates_are_reused_on_the_second_start(cert_dir: Path) -> None:
    async with await start_receiver(secret=RECEIVER_SECRET, cert_dir=cert_dir) as first:
        assert set(first.certificates.generated) == set(FILES)
    before = {name: (cert_dir / name).read_bytes() for name in FILES}
    async with await start_receiver(secret=RECEIVER_SECRET, cert_dir=cert_dir) as second:
        assert second.certificates.generated == ()
        assert second.ca_path == cert_dir / "ca.pem"
        async with client_for(second.ca_path) as client, client.get(second.url) as response:
            assert response.status == 200
    assert {name: (cert_dir / name).read_bytes() for name in FILES} == before


def test_key_files_are_0600_and_the_directory_0700(cert_dir: Path) -> None:
    ensure_local_certificates(cert_dir)
    assert mode(cert_dir / "ca-key.pem") == 0o600
    assert mode(cert_dir / "server-key.pem") == 0o600
    assert mode(cert_dir) == 0o700
    assert mode(cert_dir / "ca.pem") == 0o644


def test_a_loosened_key_file_is_tightened_back_to_0600(cert_dir: Path) -> None:
    ensure_local_certificates(cert_dir)
    (cert_dir / "server-key.pem").chmod(0o644)
    ensure_local_certificates(cert_dir)
    assert mode(cert_dir / "server-key.pem") == 0o600


def test_a_missing_server_certificate_is_made_again_under_the_same_ca(cert_dir: Path) -> None:
    ensure_local_certificates(cert_dir)
    ca_before = (cert_dir / "ca.pem").read_bytes()
    (cert_dir / "server.pem").unlink()
    again = ensure_local_certificates(cert_dir)
    assert again.generated == ("server.pem", "server-key.pem")
    assert (cert_dir / "ca.pem").read_bytes() == ca_before


def test_a_new_ca_brings_a_new_server_certificate(cert_dir: Path) -> None:
    ensure_local_certificates(cert_dir)
    (cert_dir / "ca-key.pem").write_text("not a key")
    again = ensure_local_certificates(cert_dir)
    assert set(again.generated) == set(FILES)
    server = x509.load_pem_x509_certificate((cert_dir / "server.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((cert_dir / "ca.pem").read_bytes())
    server.verify_directly_issued_by(ca)


def test_a_certificate_about_to_expire_is_renewed(cert_dir: Path) -> None:
    ensure_local_certificates(cert_dir)
    later = datetime.now(UTC) + timedelta(days=397)
    again = ensure_local_certificates(cert_dir, now=later)
    assert again.generated == ("server.pem", "server-key.pem")


def test_the_server_certificate_names_localhost_and_both_loopback_addresses(
    cert_dir: Path,
) -> None:
    ensure_local_certificates(cert_dir)
    server = x509.load_pem_x509_certificate((cert_dir / "server.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ip_address("127.0.0.1"),
        ip_address("::1"),
    ]


def test_the_ca_may_vouch_for_loopback_names_only(cert_dir: Path) -> None:
    ensure_local_certificates(cert_dir)
    ca = x509.load_pem_x509_certificate((cert_dir / "ca.pem").read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    permitted = {str(name.value) for name in constraints.value.permitted_subtrees or []}
    assert permitted == {"localhost", "127.0.0.0/8", "::1/128"}


async def test_an_operators_own_certificate_is_used_as_given(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued = ca.issue_cert("127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(str(cert_path))
    issued.private_key_pem.write_to_path(str(key_path))
    ca_path = tmp_path / "their-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    async with await start_receiver(
        secret=RECEIVER_SECRET, cert=cert_path, key=key_path, cert_dir=tmp_path / "unused"
    ) as receiver:
        assert receiver.ca_path is None
        assert "CALLOUT_CA_BUNDLE" not in receiver.client_env()
        assert not (tmp_path / "unused").exists()
        async with client_for(ca_path) as client, client.get(receiver.url) as response:
            assert response.status == 200


async def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both"):
        await start_receiver(secret=RECEIVER_SECRET, cert=tmp_path / "cert.pem")


async def test_the_env_printed_for_callout_names_the_ca_and_loopback(
    receiver: RunningReceiver,
) -> None:
    assert receiver.ca_path is not None
    assert receiver.client_env() == {
        "CALLOUT_CA_BUNDLE": str(receiver.ca_path.resolve()),
        "CALLOUT_ALLOWED_NETWORKS": "127.0.0.1/32",
    }


def test_the_server_context_offers_tls_1_2_or_newer(cert_dir: Path) -> None:
    context = ensure_local_certificates(cert_dir).server_ssl_context()
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def issue_with_the_local_ca(cert_dir: Path, hostname: str, out: Path) -> tuple[Path, Path]:
    """What someone holding a copy of the CA key could issue for another site."""
    ca = x509.load_pem_x509_certificate((cert_dir / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key(
        (cert_dir / "ca-key.pem").read_bytes(), password=None
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = out / "forged.pem", out / "forged-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_a_certificate_the_ca_issues_for_another_site_is_refused(
    cert_dir: Path, tmp_path: Path
) -> None:
    ca_path = ensure_local_certificates(cert_dir).ca_path
    cert_path, key_path = issue_with_the_local_ca(cert_dir, "api.example.com", tmp_path)
    async with await start_receiver(
        secret=RECEIVER_SECRET, cert=cert_path, key=key_path
    ) as impostor:
        url = f"https://127.0.0.1:{impostor.port}/"
        async with client_for(ca_path) as client:
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as caught:
                async with client.get(url, server_hostname="api.example.com"):
                    pass
    assert "permitted subtree violation" in str(caught.value)


async def test_a_certificate_the_ca_issues_for_localhost_is_accepted(
    cert_dir: Path, tmp_path: Path
) -> None:
    # The control for the test above: the same forging, inside the permitted names.
    ca_path = ensure_local_certificates(cert_dir).ca_path
    cert_path, key_path = issue_with_the_local_ca(cert_dir, "localhost", tmp_path)
    async with await start_receiver(secret=RECEIVER_SECRET, cert=cert_path, key=key_path) as other:
        url = f"https://127.0.0.1:{other.port}/"
        async with (
            client_for(ca_path) as client,
            client.get(url, server_hostname="localhost") as response,
        ):
            assert response.status == 200
