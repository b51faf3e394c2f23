"""Secrets at rest: AES-256-GCM bound to organization and name, and where the key comes from."""

from __future__ import annotations

import base64
import re
import secrets
import stat
from pathlib import Path

import pytest

from callout.store.encryption import (
    KEY_ENV,
    KEY_FILE_ENV,
    SecretCipher,
    SecretKeyError,
    load_secret_key,
    new_key_text,
)

VALUE = "whsec_distinctive-value-3f9a"


def key_text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def with_blob(stored: str, blob: bytes) -> str:
    head, _fingerprint, _blob = stored.split(".", 2)
    return f"{head}.{_fingerprint}.{base64.b64encode(blob).decode()}"


def test_a_value_decrypts_to_itself_for_its_organization_and_name() -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    stored = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    assert cipher.decrypt(stored, org_id="org_a", name="signing") == VALUE


def test_the_stored_form_names_format_and_key_but_not_the_value() -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    stored = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    version, fingerprint, blob = stored.split(".", 2)
    assert (version, fingerprint) == ("v1", cipher.fingerprint)
    assert VALUE not in stored
    assert base64.b64encode(VALUE.encode()).decode() not in stored
    assert len(base64.b64decode(blob)) == 12 + len(VALUE) + 16  # nonce, ciphertext, tag


def test_the_same_value_encrypts_differently_each_time() -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    first = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    second = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    assert first != second


@pytest.mark.parametrize(("org_id", "name"), [("org_b", "signing"), ("org_a", "other")])
def test_a_value_does_not_decrypt_as_another_organization_or_name(org_id: str, name: str) -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    stored = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    with pytest.raises(SecretKeyError, match=f"secret {name} does not decrypt"):
        cipher.decrypt(stored, org_id=org_id, name=name)


def test_another_key_is_refused_naming_both_fingerprints() -> None:
    writer = SecretCipher(secrets.token_bytes(32))
    reader = SecretCipher(secrets.token_bytes(32))
    stored = writer.encrypt(VALUE, org_id="org_a", name="signing")
    with pytest.raises(SecretKeyError) as refused:
        reader.decrypt(stored, org_id="org_a", name="signing")
    message = str(refused.value)
    assert writer.fingerprint in message
    assert reader.fingerprint in message
    assert KEY_ENV in message


def test_a_flipped_ciphertext_bit_is_refused() -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    stored = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    raw = bytearray(base64.b64decode(stored.split(".", 2)[2]))
    raw[14] ^= 0x01
    with pytest.raises(SecretKeyError, match="altered"):
        cipher.decrypt(with_blob(stored, bytes(raw)), org_id="org_a", name="signing")


def test_an_unknown_format_is_refused() -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    stored = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    with pytest.raises(SecretKeyError, match="unknown format"):
        cipher.decrypt("v2" + stored[2:], org_id="org_a", name="signing")


@pytest.mark.parametrize("cut", ["last character", "whole blob"])
def test_a_truncated_stored_value_is_refused_as_altered(cut: str) -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    stored = cipher.encrypt(VALUE, org_id="org_a", name="signing")
    truncated = stored[:-1] if cut == "last character" else stored.rsplit(".", 1)[0] + "."
    with pytest.raises(SecretKeyError, match="was altered"):
        cipher.decrypt(truncated, org_id="org_a", name="signing")


def test_the_repr_of_a_cipher_shows_its_fingerprint_and_no_key() -> None:
    key = secrets.token_bytes(32)
    cipher = SecretCipher(key)
    shown = repr(cipher)
    assert shown == f"SecretCipher(fingerprint={cipher.fingerprint!r})"
    for form in (repr(key), key.hex(), key_text(key), base64.b64encode(key).decode()):
        assert form not in shown
    assert key.hex() not in repr(load_secret_key({KEY_ENV: key_text(key)}))


def test_a_key_from_the_environment_is_used_as_given() -> None:
    key = secrets.token_bytes(32)
    loaded = load_secret_key({KEY_ENV: key_text(key) + "\n"})
    assert loaded.cipher.key == key
    assert (loaded.source, loaded.created) == (KEY_ENV, False)


def test_a_new_key_text_is_a_fresh_32_byte_key() -> None:
    first, second = new_key_text(), new_key_text()
    assert first != second
    assert len(load_secret_key({KEY_ENV: first}).cipher.key) == 32


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("not base64!!", f"{KEY_ENV} is not base64"),
        ("é" * 43, f"{KEY_ENV} is not base64"),
        (key_text(bytes(16)), f"{KEY_ENV} must decode to 32 bytes, not 16"),
        (key_text(bytes(33)), f"{KEY_ENV} must decode to 32 bytes, not 33"),
    ],
)
def test_a_malformed_environment_key_is_refused_with_how_to_make_one(
    text: str, complaint: str
) -> None:
    with pytest.raises(SecretKeyError) as refused:
        load_secret_key({KEY_ENV: text})
    assert complaint in str(refused.value)
    assert "callout keygen" in str(refused.value)


def test_a_missing_key_is_made_once_readable_by_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = load_secret_key({}, create=True)
    path = tmp_path / ".callout" / "secret.key"
    assert made.created
    assert made.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load_secret_key({}, create=True)
    assert not again.created
    assert again.cipher.key == made.cipher.key
    assert again.source == made.source


def test_the_key_file_may_be_named_by_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "callout.key"
    made = load_secret_key({KEY_FILE_ENV: str(path)}, create=True)
    assert made.created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_secret_key({KEY_FILE_ENV: str(path)})
    assert (loaded.cipher.key, loaded.created) == (made.cipher.key, False)


def test_the_environment_key_wins_over_the_key_file(tmp_path: Path) -> None:
    path = tmp_path / "callout.key"
    load_secret_key({KEY_FILE_ENV: str(path)}, create=True)
    key = secrets.token_bytes(32)
    loaded = load_secret_key({KEY_ENV: key_text(key), KEY_FILE_ENV: str(path)})
    assert (loaded.cipher.key, loaded.source) == (key, KEY_ENV)


def test_a_malformed_key_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "callout.key"
    path.write_text(key_text(bytes(8)), encoding="ascii")
    with pytest.raises(SecretKeyError, match=re.escape(f"{path} must decode to 32 bytes, not 8")):
        load_secret_key({KEY_FILE_ENV: str(path)})


def test_no_key_without_create_is_refused_saying_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SecretKeyError) as refused:
        load_secret_key({})
    message = str(refused.value)
    assert KEY_ENV in message
    assert "callout keygen" in message
    assert "callout serve" in message
    assert not (tmp_path / ".callout").exists()
