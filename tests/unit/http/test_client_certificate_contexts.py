"""Client certificates loaded into TLS contexts: cached by PEM, bounded, never left on disk."""

from __future__ import annotations

import os
import ssl
import stat
import tempfile
from pathlib import Path

import pytest
import trustme

from callout.http import client_certificates
from callout.http.client_certificates import ClientCertificateContexts
from callout.model.errors import ClientCertificateError

CA = trustme.CA()


def pem(name: str) -> str:
    return (
        CA.issue_cert(f"{name}@example.com", common_name=name)
        .private_key_and_cert_chain_pem.bytes()
        .decode()
    )


def contexts(size: int = 64) -> tuple[ClientCertificateContexts, list[ssl.SSLContext]]:
    made: list[ssl.SSLContext] = []

    def new_context() -> ssl.SSLContext:
        context = ssl.create_default_context()
        made.append(context)
        return context

    return ClientCertificateContexts(new_context, size=size), made


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `tempfile` write into a directory of the test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_pem_is_loaded_once_and_its_context_reused() -> None:
    cache, made = contexts()
    text = pem("partner")
    first = cache.load(text)
    assert cache.cached(text) is first
    assert cache.load(text) is first
    assert len(made) == 1
    assert "CN=partner" in first.subject


def test_the_least_recently_used_certificate_goes_past_the_bound() -> None:
    cache, _ = contexts(size=2)
    one, two, three = pem("one"), pem("two"), pem("three")
    cache.load(one)
    cache.load(two)
    cache.load(one)  # one is now the most recent
    cache.load(three)
    assert len(cache) == 2
    assert cache.cached(two) is None
    assert cache.cached(one) is not None
    assert cache.cached(three) is not None


def test_an_unusable_pem_is_a_client_certificate_error_and_not_cached() -> None:
    cache, made = contexts()
    with pytest.raises(
        ClientCertificateError, match=r"^client_certificate cannot be used: no certificate found"
    ):
        cache.load("not a pem")
    assert len(cache) == 0
    assert made == []


def test_with_an_in_memory_file_nothing_is_written_to_the_temporary_directory(
    private_tmp: Path,
) -> None:
    if not hasattr(os, "memfd_create"):
        pytest.skip("memfd_create is Linux's")
    cache, _ = contexts()
    cache.load(pem("in-memory"))
    assert list(private_tmp.iterdir()) == []


def test_without_an_in_memory_file_the_temporary_file_is_private_and_removed(
    private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "memfd_create", raising=False)
    seen: list[tuple[int, str]] = []
    real_load = ssl.SSLContext.load_cert_chain

    def spying_load(self: ssl.SSLContext, certfile: str, *args: object, **kwargs: object) -> None:
        seen.append((stat.S_IMODE(Path(certfile).stat().st_mode), Path(certfile).read_text()))
        real_load(self, certfile, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spying_load)
    cache, _ = contexts()
    text = pem("on-disk")
    cache.load(text)
    ((mode, written),) = seen
    assert mode == 0o600
    # The key in the file is encrypted under a one-time password: not the key pasted.
    assert "BEGIN ENCRYPTED PRIVATE KEY" in written
    key_lines = text.split("-----END EC PRIVATE KEY-----")[0].splitlines()[1:]
    assert not [line for line in key_lines if line in written]
    assert list(private_tmp.iterdir()) == []


def test_a_failed_load_removes_the_temporary_file_too(
    private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "memfd_create", raising=False)

    def failing_load(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        raise ssl.SSLError(1, "[SSL: KEY_VALUES_MISMATCH] key values mismatch")

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", failing_load)
    cache, _ = contexts()
    with pytest.raises(ClientCertificateError, match="cannot be loaded for TLS"):
        cache.load(pem("refused"))
    assert list(private_tmp.iterdir()) == []
    assert len(cache) == 0


def test_the_cache_is_bounded_by_default() -> None:
    assert client_certificates.MAX_CACHED == 64
    with pytest.raises(ValueError, match="at least 1"):
        ClientCertificateContexts(ssl.create_default_context, size=0)
