"""`sign`: the exact header format, and rotation."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from callout.signing import DEFAULT_SIGNATURE_HEADER, sign

BODY = b'{"event":"inquiry.completed","id":"inq_123"}'
SECRET = "s3cr3t"
TIMESTAMP = 1_700_000_000

# Computed once with `openssl dgst -sha256 -hmac s3cr3t` over `1700000000.<BODY>`:
# a change of the signed string or of the encoding breaks this test.
KNOWN_HEX = "23ba138bb23cd4334016db6776ac8ab9d8c5039a78a97645012188eac4ec23fd"


def independent_hex(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_header_name_is_the_originals() -> None:
    assert DEFAULT_SIGNATURE_HEADER == "Persona-Signature"


def test_sign_matches_a_hmac_computed_independently() -> None:
    expected = independent_hex(SECRET, TIMESTAMP, BODY)
    assert sign(BODY, [SECRET], timestamp=TIMESTAMP) == f"t={TIMESTAMP},v1={expected}"


def test_sign_matches_the_known_answer_literal() -> None:
    assert sign(BODY, [SECRET], timestamp=TIMESTAMP) == f"t=1700000000,v1={KNOWN_HEX}"


def test_sign_keys_with_utf8_bytes_and_signs_raw_body_bytes() -> None:
    # Computed once with openssl, key given as the hex of the secret's UTF-8 bytes.
    header = sign(b'\xff\x00{"a":1}\n', ["clé-🔑"], timestamp=1_614_265_330)
    assert header == (
        "t=1614265330,v1=14a2edcdefb613369c64073bef652620f6600ce53fe976b1862747c713cb34a0"
    )


def test_sign_writes_lowercase_hex_of_64_digits() -> None:
    header = sign(b"", [SECRET], timestamp=0)
    assert re.fullmatch(r"t=0,v1=[0-9a-f]{64}", header)


def test_rotation_gives_one_set_per_secret_newest_first_separated_by_one_space() -> None:
    header = sign(BODY, ["new-secret", "old-secret"], timestamp=TIMESTAMP)
    new = independent_hex("new-secret", TIMESTAMP, BODY)
    old = independent_hex("old-secret", TIMESTAMP, BODY)
    assert header == f"t={TIMESTAMP},v1={new} t={TIMESTAMP},v1={old}"


def test_rotation_drops_duplicate_secrets_keeping_the_first_place() -> None:
    header = sign(BODY, ["new", "old", "new", "old"], timestamp=TIMESTAMP)
    assert header == sign(BODY, ["new", "old"], timestamp=TIMESTAMP)
    assert header.count("t=") == 2


def test_rotation_with_the_same_value_twice_gives_one_set() -> None:
    assert sign(BODY, [SECRET, SECRET], timestamp=TIMESTAMP) == sign(
        BODY, [SECRET], timestamp=TIMESTAMP
    )


def test_a_bare_string_is_one_secret_not_its_characters() -> None:
    assert sign(BODY, SECRET, timestamp=TIMESTAMP) == sign(BODY, [SECRET], timestamp=TIMESTAMP)


def test_sign_refuses_no_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        sign(BODY, [], timestamp=TIMESTAMP)


def test_sign_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign(BODY, ["new", ""], timestamp=TIMESTAMP)


def test_sign_refuses_a_negative_timestamp() -> None:
    with pytest.raises(ValueError, match="negative"):
        sign(BODY, [SECRET], timestamp=-1)
