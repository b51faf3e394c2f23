"""Client certificates (mutual TLS) loaded into TLS contexts, one context per distinct PEM.

Python's `ssl` loads a certificate and key only from a file name. The PEM
never goes to a named file on disk: on Linux it is written to an anonymous
in-memory file (`memfd_create`) that OpenSSL opens through `/proc/self/fd`;
elsewhere to a private temporary file (mode 0600) removed as soon as OpenSSL
has read it. In both, the key is first re-encrypted under a one-time random
password, so even the moment it spends in that file shows no usable key.

Contexts are cached by the SHA-256 of the PEM (the newest `MAX_CACHED`), so
retries and later runs reuse both the context and its pooled connections
(aiohttp pools connections per context: one certificate's connection never
serves another's request).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import ssl
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from callout.http.certificate_pem import CertificatePem, CertificatePemError, read_certificate_pem
from callout.model.errors import ClientCertificateError

MAX_CACHED = 64
"""Distinct client certificates whose TLS contexts are kept (least recently used goes)."""


@dataclass(frozen=True, slots=True)
class LoadedCertificate:
    """A TLS context that presents one client certificate, and what may be said of it."""

    context: ssl.SSLContext
    subject: str
    not_after: datetime


class ClientCertificateContexts:
    """TLS contexts presenting client certificates, built by `new_context` then given the PEM.

    `new_context` makes a context with the transport's usual settings (the
    system's CAs plus `CALLOUT_CA_BUNDLE`, TLS 1.2 at least): a client
    certificate changes what callout presents, never what it trusts.
    Safe to call from several threads.
    """

    def __init__(
        self, new_context: Callable[[], ssl.SSLContext], *, size: int = MAX_CACHED
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self._new_context = new_context
        self._size = size
        self._loaded: OrderedDict[bytes, LoadedCertificate] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._loaded)

    def cached(self, pem: str) -> LoadedCertificate | None:
        """Return the context presenting `pem` if it is loaded already (never blocks on I/O)."""
        digest = _digest(pem)
        with self._lock:
            found = self._loaded.get(digest)
            if found is not None:
                self._loaded.move_to_end(digest)
            return found

    def load(self, pem: str) -> LoadedCertificate:
        """Return the context presenting `pem`, loading it when it is not cached.

        Blocking (building a context reads the system's CAs): call it off the event
        loop. Raises `ClientCertificateError` when the PEM cannot be used.
        """
        found = self.cached(pem)
        if found is not None:
            return found
        digest = _digest(pem)
        try:
            certificate = read_certificate_pem(pem)
        except CertificatePemError as exc:
            raise ClientCertificateError(f"client_certificate cannot be used: {exc}") from None
        context = self._new_context()
        try:
            _present(context, certificate)
        except ssl.SSLError as exc:
            # The reason is OpenSSL's (e.g. KEY_VALUES_MISMATCH), never the PEM.
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise ClientCertificateError(
                f"client_certificate cannot be loaded for TLS: {reason}"
            ) from None
        loaded = LoadedCertificate(context, certificate.subject, certificate.not_after)
        with self._lock:
            self._loaded[digest] = loaded
            self._loaded.move_to_end(digest)
            while len(self._loaded) > self._size:
                self._loaded.popitem(last=False)
        return loaded


def _digest(pem: str) -> bytes:
    return hashlib.sha256(pem.encode("utf-8", "surrogatepass")).digest()


def _present(context: ssl.SSLContext, certificate: CertificatePem) -> None:
    password = secrets.token_urlsafe(32).encode("ascii")
    key = certificate.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    with _private_file(certificate.certificates_pem() + key) as path:
        context.load_cert_chain(path, password=password)


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """Yield a path OpenSSL can open that holds `data`, gone when the block ends."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and Path("/proc/self/fd").is_dir():
        try:
            fd = memfd_create("callout-client-certificate", os.MFD_CLOEXEC)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                written = memoryview(data)
                while written:
                    written = written[os.write(fd, written) :]
                yield f"/proc/self/fd/{fd}"
            finally:
                os.close(fd)
            return
    # mkstemp creates the file 0600, readable by this user only.
    fd, name = tempfile.mkstemp(prefix="callout-client-certificate-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        yield name
    finally:
        Path(name).unlink()
