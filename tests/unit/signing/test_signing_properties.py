"""Properties: every body and secret round-trips; garbage headers raise only SignatureError."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from callout.model.errors import SignatureError
from callout.signing import sign, verify

secrets = st.text(min_size=1, max_size=64)
timestamps = st.integers(min_value=0, max_value=2**40)


@given(body=st.binary(max_size=2048), secret=secrets, timestamp=timestamps)
def test_what_is_signed_verifies_with_its_secret(body: bytes, secret: str, timestamp: int) -> None:
    header = sign(body, [secret], timestamp=timestamp)
    assert verify(header, body, secret, now=timestamp) == timestamp


@given(
    body=st.binary(max_size=512),
    rotation=st.lists(secrets, min_size=1, max_size=4),
    timestamp=timestamps,
    data=st.data(),
)
def test_a_rotation_verifies_with_any_of_its_secrets(
    body: bytes, rotation: list[str], timestamp: int, data: st.DataObject
) -> None:
    header = sign(body, rotation, timestamp=timestamp)
    assert header.count(" t=") == len(set(rotation)) - 1
    secret = data.draw(st.sampled_from(rotation))
    assert verify(header, body, secret, now=timestamp) == timestamp


@given(body=st.binary(max_size=256), other=st.binary(max_size=256), secret=secrets)
def test_another_body_does_not_verify(body: bytes, other: bytes, secret: str) -> None:
    assume(other != body)
    header = sign(body, [secret], timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(header, other, secret, now=1_700_000_000)


signature_like = st.lists(
    st.sampled_from(["t=", "v1=", ",", " ", "=", "1700000000", "a" * 64, "x", "\x00", "é", "\n"]),
    max_size=20,
).map("".join)


@given(header=st.one_of(st.text(max_size=300), signature_like), body=st.binary(max_size=64))
def test_garbage_headers_raise_only_signature_error(header: str, body: bytes) -> None:
    with pytest.raises(SignatureError, match=r"\w"):
        verify(header, body, "s3cr3t", now=1_700_000_000)
