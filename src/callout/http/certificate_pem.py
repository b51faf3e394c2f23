"""A client certificate as PEM text: the certificate, its chain and its private key.

Read once when a certificate secret is stored (the API shows its subject and
expiry) and again when a request presents it (`client_certificates.py`).
Every problem is named at once, and no message ever quotes the PEM: the key
is a secret, and so may be anything pasted beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

# A PEM block: its label, and everything up to the matching END line.
_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL | re.ASCII)
_KEY_LABELS = frozenset(
    {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"}
)

HOW_TO_DECRYPT = "openssl pkey -in key.pem -out key-plain.pem"


class CertificatePemError(ValueError):
    """The PEM text is not a usable client certificate; `problems` says every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class CertificatePem:
    """A readable client certificate: the certificate that matches the key, its chain, the key.

    `certificate` is always the one whose public key matches `key`, whatever
    order the PEM listed them in; `chain` holds the others in their order.
    """

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKeyTypes = field(repr=False)

    @property
    def subject(self) -> str:
        """The certificate's subject as RFC 4514 text, e.g. `CN=partner-client,O=Acme`."""
        return self.certificate.subject.rfc4514_string()

    @property
    def not_after(self) -> datetime:
        """When the certificate expires (UTC)."""
        return self.certificate.not_valid_after_utc

    def certificates_pem(self) -> bytes:
        """Return the certificate then its chain as PEM (the order TLS presents them in)."""
        return b"".join(
            cert.public_bytes(serialization.Encoding.PEM)
            for cert in (self.certificate, *self.chain)
        )

    def __repr__(self) -> str:
        return f"CertificatePem(subject={self.subject!r}, key=[hidden])"


def read_certificate_pem(text: str) -> CertificatePem:
    """Read PEM text holding a certificate (optionally its chain) and its unencrypted key.

    Raises `CertificatePemError` listing every problem: no certificate, a
    certificate that cannot be read, no key, more than one key, an encrypted
    key, a key that cannot be read, a key that matches no certificate.
    """
    problems: list[str] = []
    certificates: list[x509.Certificate] = []
    keys: list[PrivateKeyTypes] = []
    blocks = list(_BLOCK.finditer(text))
    for number, match in enumerate((m for m in blocks if m.group(1) == "CERTIFICATE"), start=1):
        try:
            certificates.append(x509.load_pem_x509_certificate(match.group(0).encode("ascii")))
        except ValueError:
            problems.append(f"certificate #{number} cannot be read (its PEM block is damaged)")
    key_blocks = [m for m in blocks if m.group(1) in _KEY_LABELS]
    if not blocks or not any(m.group(1) == "CERTIFICATE" for m in blocks):
        problems.append("no certificate found: expected a -----BEGIN CERTIFICATE----- block")
    if not key_blocks:
        problems.append(
            "no private key found: expected a -----BEGIN PRIVATE KEY----- block "
            "after the certificate"
        )
    elif len(key_blocks) > 1:
        problems.append(
            f"{len(key_blocks)} private keys found; keep only the certificate's own key"
        )
    else:
        problem = _load_key(key_blocks[0].group(0), keys)
        if problem:
            problems.append(problem)
    if problems:
        raise CertificatePemError(problems)
    return _paired(certificates, keys[0])


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What may be shown of a stored client certificate: its subject and expiry."""

    subject: str
    not_after: datetime


def certificate_facts(text: str) -> CertificateFacts | None:
    """Return the subject and expiry of the client certificate in `text`, without its key.

    The client certificate is the first that is not a CA's (chains list the
    client's first by convention, and a certificate secret was checked when
    stored); None when `text` holds no readable certificate.
    """
    certificates: list[x509.Certificate] = []
    for match in _BLOCK.finditer(text):
        if match.group(1) != "CERTIFICATE":
            continue
        try:
            certificates.append(x509.load_pem_x509_certificate(match.group(0).encode("ascii")))
        except ValueError:
            continue
    if not certificates:
        return None
    chosen = next((cert for cert in certificates if not _is_ca(cert)), certificates[0])
    return CertificateFacts(chosen.subject.rfc4514_string(), chosen.not_valid_after_utc)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return constraints.value.ca


def _load_key(block: str, keys: list[PrivateKeyTypes]) -> str:
    try:
        keys.append(serialization.load_pem_private_key(block.encode("ascii"), None))
    except TypeError:
        # cryptography's way of saying the key needs a password.
        return f"the private key is encrypted; store it unencrypted (e.g. {HOW_TO_DECRYPT})"
    except (ValueError, UnsupportedAlgorithm):
        return "the private key cannot be read (its PEM block is damaged or of an unknown type)"
    return ""


def _paired(certificates: list[x509.Certificate], key: PrivateKeyTypes) -> CertificatePem:
    wanted = _public_der(key)
    for index, certificate in enumerate(certificates):
        if _certificate_public_der(certificate) == wanted:
            chain = tuple(certificates[:index] + certificates[index + 1 :])
            return CertificatePem(certificate=certificate, chain=chain, key=key)
    which = "the certificate" if len(certificates) == 1 else "any of the certificates"
    raise CertificatePemError([f"the private key does not match {which}"])


def _public_der(key: PrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _certificate_public_der(certificate: x509.Certificate) -> bytes | None:
    try:
        public = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
