"""`verify`: what a receiver accepts, and the reason it gives for what it refuses."""

from __future__ import annotations

import pytest

from callout.model.errors import SignatureError
from callout.signing import sign, verify

BODY = b'{"event":"inquiry.completed","id":"inq_123"}'
SECRET = "s3cr3t"
T = 1_700_000_000


def test_verify_returns_the_signed_timestamp() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    assert verify(header, BODY, SECRET, now=T + 10) == T


def test_verify_accepts_a_list_of_secrets() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    assert verify(header, BODY, ["other", SECRET], now=T) == T


def test_verify_rejects_a_wrong_secret() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(header, BODY, "not-the-secret", now=T)


def test_verify_rejects_a_changed_body() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(SignatureError, match="body changed"):
        verify(header, BODY.replace(b"123", b"124"), SECRET, now=T)


def test_verify_rejects_a_reserialised_body() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(header, BODY.replace(b":", b": "), SECRET, now=T)


def test_verify_rejects_a_changed_timestamp() -> None:
    header = sign(BODY, [SECRET], timestamp=T).replace(f"t={T}", f"t={T + 1}")
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(header, BODY, SECRET, now=T)


def test_verify_rejects_a_stale_timestamp() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(SignatureError, match=r"too old: signed 301 s ago.*tolerance is 300 s"):
        verify(header, BODY, SECRET, now=T + 301)


def test_verify_rejects_a_timestamp_in_the_future_beyond_tolerance() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(SignatureError, match=r"in the future: signed 61 s ahead"):
        verify(header, BODY, SECRET, tolerance=60, now=T - 61)


def test_verify_accepts_a_timestamp_at_the_edges_of_tolerance() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    assert verify(header, BODY, SECRET, now=T + 300) == T
    assert verify(header, BODY, SECRET, now=T - 300) == T


def test_verify_reports_a_wrong_secret_before_a_stale_time() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(header, BODY, "other", now=T + 10_000)


def test_verify_uses_the_current_time_by_default() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(SignatureError, match="too old"):
        verify(header, BODY, SECRET)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("v1=" + "a" * 64, "no t="),
        (f"t={T}", "no v1="),
        (f"t={T},v1=", "64 hexadecimal"),
        (f"t={T},v1=xyz", "64 hexadecimal"),
        (f"t={T},v1={'g' * 64}", "64 hexadecimal"),
        (f"t=abc,v1={'a' * 64}", "unix seconds"),
        (f"t=-5,v1={'a' * 64}", "unix seconds"),
        (f"t= 5,v1={'a' * 64}", "set 1 has no v1="),
        (f"t=1_000,v1={'a' * 64}", "unix seconds"),
        (f"t={T},t={T},v1={'a' * 64}", "repeats t="),
        (f"t={T};v1={'a' * 64}", "no v1="),
        (f"t={T},,v1={'a' * 64}", "not key=value"),
        ("garbage", "not key=value"),
        (f"Persona-Signature: t={T},v1={'a' * 64}", "not key=value"),
        (" ".join([f"t={T},v1={'a' * 64}"] * 9), "more than 8 sets"),
        ("t=" + "1" * 5000, "longer than"),
    ],
)
def test_verify_rejects_a_malformed_header_with_its_reason(header: str, reason: str) -> None:
    with pytest.raises(SignatureError, match="malformed signature header") as caught:
        verify(header, BODY, SECRET, now=T)
    assert reason in str(caught.value)


def test_verify_ignores_unknown_keys_for_later_schemes() -> None:
    header = sign(BODY, [SECRET], timestamp=T) + ",v2=whatever"
    assert verify(header, BODY, SECRET, now=T) == T


def test_verify_accepts_uppercase_hex() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    t_part, v1_part = header.split(",")
    assert verify(f"{t_part},{v1_part.upper().replace('V1=', 'v1=')}", BODY, SECRET, now=T) == T


def test_verify_accepts_surrounding_whitespace() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    assert verify(f"  {header}\r\n", BODY, SECRET, now=T) == T


@pytest.mark.parametrize("secret", ["new", "old"])
def test_verify_accepts_either_secret_of_a_rotation(secret: str) -> None:
    header = sign(BODY, ["new", "old"], timestamp=T)
    assert verify(header, BODY, secret, now=T) == T


def test_verify_accepts_a_rotation_header_when_the_receiver_holds_both_secrets() -> None:
    header = sign(BODY, ["new", "old"], timestamp=T)
    assert verify(header, BODY, ["old", "new"], now=T) == T


def test_verify_rejects_a_rotation_header_signed_with_neither_secret() -> None:
    header = sign(BODY, ["new", "old"], timestamp=T)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(header, BODY, ["older", "newest"], now=T)


def test_verify_checks_the_time_of_the_set_that_matched() -> None:
    fresh = sign(BODY, ["new"], timestamp=T)
    stale = sign(BODY, ["old"], timestamp=T - 3600)
    assert verify(f"{fresh} {stale}", BODY, ["new", "old"], now=T) == T
    with pytest.raises(SignatureError, match="too old"):
        verify(f"{fresh} {stale}", BODY, "old", now=T)


@pytest.mark.parametrize("secrets", [[], "", ["ok", ""]])
def test_verify_refuses_a_missing_or_empty_secret_as_a_programming_error(
    secrets: str | list[str],
) -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(ValueError, match="secret"):
        verify(header, BODY, secrets, now=T)


def test_verify_refuses_a_negative_tolerance() -> None:
    header = sign(BODY, [SECRET], timestamp=T)
    with pytest.raises(ValueError, match="tolerance"):
        verify(header, BODY, SECRET, tolerance=-1, now=T)


@pytest.mark.parametrize(
    ("header", "secret", "now"),
    [
        (sign(BODY, ["hunter2-right"], timestamp=T), "hunter2-wrong", T),
        (sign(BODY, ["hunter2-right"], timestamp=T), "hunter2-right", T + 9999),
        ("nonsense", "hunter2-right", T),
    ],
)
def test_signature_error_messages_never_contain_the_secret(
    header: str, secret: str, now: int
) -> None:
    with pytest.raises(SignatureError) as caught:
        verify(header, BODY, secret, now=now)
    assert "hunter2" not in str(caught.value)
