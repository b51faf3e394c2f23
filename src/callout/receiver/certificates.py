"""A local certificate authority and a `localhost` server certificate for the receiver.

The first start writes four files to the certificate directory; later starts
reuse them while they are valid, so the CA a newcomer pointed
`CALLOUT_CA_BUNDLE` at keeps working:

```
ca.pem            the CA certificate: what clients trust
ca-key.pem        its private key (0600)
server.pem        the server certificate for localhost, 127.0.0.1 and ::1
server-key.pem    its private key (0600)
```

The CA is name-constrained to those loopback names, so even a copied CA key
cannot vouch for any other site.

The same CA can issue a client certificate for trying mutual TLS
(`issue_client_certificate`, `callout receiver --make-client-cert DIR`):

```
client.pem        a client certificate and its key, in one file (0600)
```
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_FILE = "server.pem"
SERVER_KEY_FILE = "server-key.pem"
CLIENT_FILE = "client.pem"
CLIENT_SUBJECT = "callout receiver client"

KEY_MODE = 0o600
DIRECTORY_MODE = 0o700

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=397)  # the longest a browser accepts for a server certificate
CLIENT_LIFETIME = timedelta(days=397)
RENEW_BEFORE = timedelta(days=1)
BACKDATE = timedelta(hours=1)  # a client whose clock is a little behind still accepts it

SERVER_DNS_NAMES = ("localhost",)
SERVER_IP_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_PERMITTED = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
    x509.IPAddress(ipaddress.ip_network("::1/128")),
)

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class ReceiverCertificates:
    """Where the receiver's certificate and key are, and the CA clients must trust.

    `ca_path` is None when the operator gave their own certificate (`--cert/--key`).
    `generated` names the files this start wrote (empty when everything was reused).
    """

    cert_path: Path
    key_path: Path
    ca_path: Path | None
    generated: tuple[str, ...] = ()

    def server_ssl_context(self, *, client_ca: Path | None = None) -> ssl.SSLContext:
        """Return a TLS server context that presents this certificate.

        With `client_ca`, a handshake without a client certificate issued by one of
        its CAs is refused (mutual TLS).
        """
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            try:
                context.load_verify_locations(cafile=client_ca)
            except ssl.SSLError:
                raise ValueError(
                    f"--client-ca: {client_ca} holds no PEM certificate to trust"
                ) from None
        return context


def certificate_subject(der: bytes) -> str:
    """Return the RFC 4514 subject of a DER certificate (e.g. `CN=partner,O=Acme`)."""
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def issue_client_certificate(cert_dir: Path, out_dir: Path, *, now: datetime | None = None) -> Path:
    """Write `out_dir/client.pem`: a client certificate from the CA in `cert_dir`, and its key.

    The CA is created first when missing (as the receiver's first start would).
    The file is 0600: it holds a private key. Returns its path.
    """
    moment = now or datetime.now(UTC)
    ensure_local_certificates(cert_dir, now=moment)
    ca = _load_pair(cert_dir / CA_FILE, cert_dir / CA_KEY_FILE, moment)
    if ca is None:  # pragma: no cover - ensure_local_certificates just made it
        raise OSError(f"the receiver's CA in {cert_dir} cannot be read")
    certificate, key = _new_client(ca, moment)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    out_dir.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    path = out_dir / CLIENT_FILE
    _write_atomically(
        path, certificate.public_bytes(serialization.Encoding.PEM) + key_pem, KEY_MODE
    )
    return path


def ensure_local_certificates(
    cert_dir: Path, *, now: datetime | None = None
) -> ReceiverCertificates:
    """Return the local CA and server certificate in `cert_dir`, creating what is missing.

    A file that is missing, unreadable, expiring within a day or not matching its
    partner is generated again; a new CA also means a new server certificate. Key
    files are written 0600 (and tightened to 0600 when found looser).
    """
    moment = now or datetime.now(UTC)
    cert_dir.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    generated: list[str] = []

    ca = _load_pair(cert_dir / CA_FILE, cert_dir / CA_KEY_FILE, moment)
    if ca is None:
        ca = _new_ca(moment)
        _write_pair(ca, cert_dir / CA_FILE, cert_dir / CA_KEY_FILE)
        generated += [CA_FILE, CA_KEY_FILE]

    server = _load_pair(cert_dir / SERVER_FILE, cert_dir / SERVER_KEY_FILE, moment)
    if server is None or not _issued_by(server[0], ca[0]) or not _covers_loopback(server[0]):
        server = _new_server(ca, moment)
        _write_pair(server, cert_dir / SERVER_FILE, cert_dir / SERVER_KEY_FILE)
        generated += [SERVER_FILE, SERVER_KEY_FILE]

    for key_file in (CA_KEY_FILE, SERVER_KEY_FILE):
        path = cert_dir / key_file
        if path.stat().st_mode & 0o777 != KEY_MODE:
            path.chmod(KEY_MODE)

    return ReceiverCertificates(
        cert_path=cert_dir / SERVER_FILE,
        key_path=cert_dir / SERVER_KEY_FILE,
        ca_path=cert_dir / CA_FILE,
        generated=tuple(generated),
    )


Pair = tuple[x509.Certificate, PrivateKey]


def _load_pair(cert_path: Path, key_path: Path, moment: datetime) -> Pair | None:
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, PrivateKey):
        return None
    if certificate.public_key() != key.public_key():
        return None
    if (
        not certificate.not_valid_before_utc
        <= moment
        < certificate.not_valid_after_utc - (RENEW_BEFORE)
    ):
        return None
    return certificate, key


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _covers_loopback(certificate: x509.Certificate) -> bool:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    dns = set(names.get_values_for_type(x509.DNSName))
    ips = set(names.get_values_for_type(x509.IPAddress))
    return dns >= set(SERVER_DNS_NAMES) and ips >= set(SERVER_IP_ADDRESSES)


def _new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _new_ca(moment: datetime) -> Pair:
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "callout receiver"),
            x509.NameAttribute(NameOID.COMMON_NAME, "callout local receiver CA"),
        ]
    )
    subject_key = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - BACKDATE)
        .not_valid_after(moment + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(permitted_subtrees=list(_PERMITTED), excluded_subtrees=None),
            critical=True,
        )
        .add_extension(subject_key, critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _new_server(ca: Pair, moment: datetime) -> Pair:
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in SERVER_DNS_NAMES]
    names += [x509.IPAddress(address) for address in SERVER_IP_ADDRESSES]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    role = [
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
        x509.SubjectAlternativeName(names),
    ]
    return _new_leaf(ca, moment, subject, SERVER_LIFETIME, role)


def _new_client(ca: Pair, moment: datetime) -> Pair:
    # No subject alternative names, and a common name that is not a host name: the
    # CA's name constraints (loopback names only) then have nothing to refuse.
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "callout receiver"),
            x509.NameAttribute(NameOID.COMMON_NAME, CLIENT_SUBJECT),
        ]
    )
    role = [x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])]
    return _new_leaf(ca, moment, subject, CLIENT_LIFETIME, role)


def _new_leaf(
    ca: Pair,
    moment: datetime,
    subject: x509.Name,
    lifetime: timedelta,
    role: Sequence[x509.ExtensionType],
) -> Pair:
    """Sign a certificate for one end of a connection; `role` holds its own extensions."""
    ca_certificate, ca_key = ca
    key = _new_key()
    ca_subject_key = ca_certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - BACKDATE)
        .not_valid_after(min(moment + lifetime, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    for extension in role:
        builder = builder.add_extension(extension, critical=False)
    certificate = (
        builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_subject_key),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def _write_pair(pair: Pair, cert_path: Path, key_path: Path) -> None:
    certificate, key = pair
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomically(key_path, key_pem, KEY_MODE)
    _write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    # The key is 0600 from its first byte: mkstemp creates the file 0600, and it only
    # takes its final name once complete, so no reader ever sees half a file.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            os.fchmod(stream.fileno(), mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
