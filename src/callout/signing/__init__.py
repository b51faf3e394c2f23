"""Sign request bodies, and verify signature headers on the receiving side.

A signed request carries `Persona-Signature: t=<unix seconds>,v1=<hex>`, where
`<hex>` is the lowercase hex of HMAC-SHA256 keyed with the secret's UTF-8 bytes
over the timestamp, a dot and the exact body bytes. During a secret rotation the
header holds one set per secret, newest first, separated by one space.

Receivers call `verify(header, raw_body, secret)`; see docs/signing.md.
"""

from callout.model.errors import SignatureError
from callout.signing._scheme import DEFAULT_SIGNATURE_HEADER, DEFAULT_TOLERANCE, sign, verify

__all__ = [
    "DEFAULT_SIGNATURE_HEADER",
    "DEFAULT_TOLERANCE",
    "SignatureError",
    "sign",
    "verify",
]
