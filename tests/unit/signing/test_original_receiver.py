"""What we sign passes the original product's own receiver check, read literally.

The original's sample (Ruby):
    t, v1 = header.split(',').map { |kv| kv.split('=').second }
    OpenSSL::HMAC.hexdigest('SHA256', secret, "#{t}.#{body}") == v1
"""

from __future__ import annotations

import hashlib
import hmac
import json

from callout.signing import sign


def original_receiver_accepts(header: str, body: str, secret: str) -> bool:
    """The Ruby sample, line for line: `.second` is the element at index 1."""
    t, v1 = [kv.split("=")[1] for kv in header.split(",")][:2]
    expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return expected == v1


def test_the_original_receiver_accepts_what_we_sign_with_one_secret() -> None:
    payload = {"inquiry": "inq_123", "email": "ada@example.com", "name": "Ada Lovelace"}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    header = sign(body.encode(), ["s3cr3t"], timestamp=1_700_000_000)
    assert original_receiver_accepts(header, body, "s3cr3t")


def test_the_original_receiver_accepts_a_non_ascii_body() -> None:
    body = '{"name":"Zoë Ñandú","city":"東京"}'
    header = sign(body.encode(), ["clé"], timestamp=1_700_000_123)
    assert original_receiver_accepts(header, body, "clé")


def test_the_original_receiver_refuses_a_wrong_secret() -> None:
    body = '{"a":1}'
    header = sign(body.encode(), ["s3cr3t"], timestamp=1_700_000_000)
    assert not original_receiver_accepts(header, body, "other")


def test_the_original_receiver_cannot_read_a_rotation_header() -> None:
    # Documented in docs/signing.md: during a rotation, receivers need `verify` (or
    # to split on spaces first); the original's one-liner reads "<hex> t=<t>" as v1.
    body = '{"a":1}'
    header = sign(body.encode(), ["new", "old"], timestamp=1_700_000_000)
    assert not original_receiver_accepts(header, body, "new")
    assert not original_receiver_accepts(header, body, "old")
