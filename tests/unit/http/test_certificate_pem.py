"""Reading a client certificate's PEM: what is accepted, every problem named, nothing quoted."""

from __future__ import annotations

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from callout.http.certificate_pem import CertificatePemError, read_certificate_pem

CA = trustme.CA()
LEAF = CA.issue_cert("partner@example.com", common_name="partner-client")
KEY = LEAF.private_key_pem.bytes().decode()
CERT = LEAF.cert_chain_pems[0].bytes().decode()


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(CertificatePemError) as caught:
        read_certificate_pem(text)
    return caught.value.problems


def body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_a_key_then_a_certificate_is_read_with_its_subject_and_expiry() -> None:
    read = read_certificate_pem(KEY + CERT)
    assert "CN=partner-client" in read.subject
    assert read.not_after.tzinfo is not None
    assert read.chain == ()


def test_the_certificate_matching_the_key_leads_whatever_the_order() -> None:
    child = CA.create_child_ca()
    leaf = child.issue_cert("chained@example.com", common_name="chained")
    chain = [pem.bytes().decode() for pem in leaf.cert_chain_pems]  # leaf, intermediate
    text = chain[1] + leaf.private_key_pem.bytes().decode() + chain[0]
    read = read_certificate_pem(text)
    assert "CN=chained" in read.subject
    assert len(read.chain) == 1
    assert read.certificates_pem().decode().count("BEGIN CERTIFICATE") == 2
    assert read.certificates_pem().decode().startswith(chain[0])


def test_windows_line_endings_and_surrounding_text_are_accepted() -> None:
    text = "partner bundle\r\n" + (CERT + KEY).replace("\n", "\r\n") + "\r\nend"
    assert "CN=partner-client" in read_certificate_pem(text).subject


def test_text_with_neither_names_both_missing_parts_at_once() -> None:
    problems = problems_of("hello")
    assert problems == (
        "no certificate found: expected a -----BEGIN CERTIFICATE----- block",
        "no private key found: expected a -----BEGIN PRIVATE KEY----- block after the certificate",
    )


def test_a_certificate_without_its_key_is_refused() -> None:
    assert problems_of(CERT) == (
        "no private key found: expected a -----BEGIN PRIVATE KEY----- block after the certificate",
    )


def test_a_key_without_a_certificate_is_refused() -> None:
    assert problems_of(KEY) == (
        "no certificate found: expected a -----BEGIN CERTIFICATE----- block",
    )


def test_two_keys_are_refused() -> None:
    other = CA.issue_cert("other@example.com").private_key_pem.bytes().decode()
    assert problems_of(CERT + KEY + other) == (
        "2 private keys found; keep only the certificate's own key",
    )


def test_a_key_of_another_certificate_does_not_match() -> None:
    other = CA.issue_cert("other@example.com").private_key_pem.bytes().decode()
    assert problems_of(CERT + other) == ("the private key does not match the certificate",)


def test_an_encrypted_pkcs8_key_is_refused_with_how_to_decrypt_it() -> None:
    key = serialization.load_pem_private_key(KEY.encode(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"hunter2"),
    ).decode()
    assert "ENCRYPTED PRIVATE KEY" in encrypted
    (problem,) = problems_of(CERT + encrypted)
    assert problem.startswith("the private key is encrypted; store it unencrypted")
    assert "openssl pkey" in problem


def test_an_encrypted_traditional_key_is_refused_too() -> None:
    key = serialization.load_pem_private_key(KEY.encode(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"hunter2"),
    ).decode()
    assert "Proc-Type: 4,ENCRYPTED" in encrypted
    (problem,) = problems_of(CERT + encrypted)
    assert problem.startswith("the private key is encrypted")


def test_a_damaged_key_and_certificate_are_both_named() -> None:
    damaged_cert = CERT.replace(body_lines(CERT)[2], "A" * 64)
    damaged_key = KEY.replace(body_lines(KEY)[1], "!!!!")
    problems = problems_of(damaged_cert + damaged_key)
    assert "certificate #1 cannot be read (its PEM block is damaged)" in problems
    assert any(p.startswith("the private key cannot be read") for p in problems)


def test_an_rsa_key_in_pkcs1_form_is_read() -> None:
    rsa_ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = rsa_ca.issue_cert("rsa@example.com", key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert "BEGIN RSA PRIVATE KEY" in pkcs1
    assert read_certificate_pem(leaf.cert_chain_pems[0].bytes().decode() + pkcs1).chain == ()


def test_no_message_or_repr_quotes_the_pem() -> None:
    other = CA.issue_cert("other@example.com").private_key_pem.bytes().decode()
    with pytest.raises(CertificatePemError) as caught:
        read_certificate_pem(CERT + KEY + other)
    shown = str(caught.value) + repr(read_certificate_pem(KEY + CERT))
    assert not [line for line in body_lines(KEY + CERT + other) if line in shown]
    assert "key=[hidden]" in repr(read_certificate_pem(KEY + CERT))
