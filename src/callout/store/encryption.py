"""Secrets at rest: AES-256-GCM under the operator's key (`CALLOUT_SECRET_KEY`).

A stored value reads `v1.<key fingerprint>.<base64 of nonce + ciphertext>`. The
fingerprint (the first 8 hex digits of the key's SHA-256) lets a process with
the wrong key say so instead of failing obscurely, and the organization and
secret name are bound into each value as associated data, so a value copied
to another row or organization does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callout.model.errors import CalloutError

KEY_ENV = "CALLOUT_SECRET_KEY"
KEY_FILE_ENV = "CALLOUT_SECRET_KEY_FILE"
DEFAULT_KEY_FILE = Path(".callout") / "secret.key"
_FORMAT = "v1"
_NONCE_BYTES = 12


class SecretKeyError(CalloutError):
    """The secret key is missing, malformed, or not the one the values were encrypted with."""


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise SecretKeyError(f"{source} is not base64 (make one with `callout keygen`)") from None
    if len(key) != 32:
        raise SecretKeyError(
            f"{source} must decode to 32 bytes, not {len(key)} (make one with `callout keygen`)"
        )
    return key


def new_key_text() -> str:
    """Return a fresh key as CALLOUT_SECRET_KEY takes it (URL-safe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class SecretCipher:
    """Encrypts and decrypts stored secret values with one key."""

    key: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """The key's public fingerprint (safe to show)."""
        return _fingerprint(self.key)

    def __repr__(self) -> str:
        return f"SecretCipher(fingerprint={self.fingerprint!r})"

    def encrypt(self, value: str, *, org_id: str, name: str) -> str:
        """Return the stored form of `value`, bound to its organization and name."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, value.encode(), f"{org_id}/{name}".encode())
        blob = base64.b64encode(nonce + sealed).decode()
        return f"{_FORMAT}.{self.fingerprint}.{blob}"

    def decrypt(self, stored: str, *, org_id: str, name: str) -> str:
        """Return the value `stored` holds. Raises SecretKeyError on the wrong key."""
        version, fingerprint, blob = [*stored.split(".", 2), "", ""][:3]
        if version != _FORMAT:
            raise SecretKeyError(f"secret {name} is stored in an unknown format")
        if fingerprint != self.fingerprint:
            raise SecretKeyError(
                f"secret {name} was encrypted with another key (fingerprint {fingerprint}); "
                f"this process has key {self.fingerprint}: set {KEY_ENV} to the key "
                "the service was started with"
            )
        try:
            raw = base64.b64decode(blob, validate=True)
            plain = AESGCM(self.key).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], f"{org_id}/{name}".encode()
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretKeyError(
                f"secret {name} does not decrypt: its stored value was altered"
            ) from None
        return plain.decode()


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """A key, and where it came from (for the operator's log)."""

    cipher: SecretCipher
    source: str
    created: bool = False


def key_file_path(environ: Mapping[str, str]) -> Path:
    """Return where the key file is (`CALLOUT_SECRET_KEY_FILE`, or `.callout/secret.key`)."""
    return Path(environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)


def load_secret_key(environ: Mapping[str, str], *, create: bool = False) -> LoadedKey:
    """Return the key from `CALLOUT_SECRET_KEY`, else from the key file.

    With `create`, a missing key file is made (mode 0600, its folder 0700) with a
    fresh key: what `callout serve` does on a fresh machine. Raises SecretKeyError.
    """
    text = environ.get(KEY_ENV)
    if text:
        return LoadedKey(SecretCipher(_decode_key(text, KEY_ENV)), source=KEY_ENV)
    path = key_file_path(environ)
    if path.exists():
        return LoadedKey(
            SecretCipher(_decode_key(path.read_text(encoding="ascii"), str(path))),
            source=str(path.resolve()),
        )
    if not create:
        raise SecretKeyError(
            f"no secret key: set {KEY_ENV} (make one with `callout keygen`) or create "
            f"{path} by starting `callout serve` once"
        )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = new_key_text()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    return LoadedKey(
        SecretCipher(_decode_key(text, str(path))), source=str(path.resolve()), created=True
    )
