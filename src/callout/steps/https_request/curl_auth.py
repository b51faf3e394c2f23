"""What a curl command's credentials become: the step's `auth`, or a header holding a reference.

- `-u user:password` (and `user:password@` in the URL, and `Authorization:
  Basic <base64>` that decodes) -> `auth: {type: basic}`. The password is
  always a secret. The user name is one too when the password is empty
  (`-u sk_test_...:`, Stripe's form: the key is the user name), or when it looks
  like a credential itself; otherwise it stays text (`elastic`, an email).
- `Authorization: Bearer x` and `--oauth2-bearer x` -> `auth: {type: bearer}`.
- Any other `Authorization` (`Token x`, `Bot x`, a bare key) stays a header whose
  credential is a secret reference: `auth` has no such kind.
"""

from __future__ import annotations

import base64
import binascii

from callout.steps.https_request.config import TOKEN
from callout.steps.https_request.curl_secrets import (
    SecretBook,
    is_credential_name,
    is_secret_reference,
    looks_like_token,
    placeholder_words,
)

WHERE = "header Authorization"


def is_credential_like(text: str) -> bool:
    """Say whether a user name is a credential: a token's shape, or a placeholder naming one."""
    words = placeholder_words(text)
    if looks_like_token(text):
        return True
    return words is not None and is_credential_name(words, where="header")


class AuthReader:
    """Turns credentials into `auth` values, each secret a reference recorded in `book`."""

    def __init__(self, book: SecretBook, notes: list[str]) -> None:
        self.book = book
        self.notes = notes

    def basic(self, user: str, password: str | None, where: str) -> dict[str, str]:
        """Return basic auth for `user:password` (`password` None: none was given)."""
        auth = {"type": "basic"}
        username_is_key = password == "" or is_credential_like(user)
        if username_is_key and user and not is_secret_reference(user):
            auth["username"] = self.book.reference(
                user, base="api_key", found_in=f"{where} user name"
            )
        else:
            auth["username"] = user
        if password is None:
            self.notes.append(
                f"{where} gives no password (curl would ask for one): add auth.password: "
                "{{ secrets.NAME }} if the API needs one"
            )
        elif password:
            if is_secret_reference(password):
                auth["password"] = password
            else:
                base = "api_token" if user.endswith("/token") else "password"
                auth["password"] = self.book.reference(
                    password, base=base, found_in=f"{where} password"
                )
        return auth

    def bearer(self, token: str, where: str) -> dict[str, str]:
        """Return bearer auth whose token is a secret reference."""
        if not is_secret_reference(token):
            token = self.book.reference(token, base="token", found_in=where)
        return {"type": "bearer", "token": token}

    def authorization(self, value: str) -> tuple[dict[str, str] | None, str | None]:
        """Read an Authorization header: return (auth, None) or (None, the header's new value)."""
        if is_secret_reference(value):
            return None, value
        scheme, _, rest = value.partition(" ")
        rest = rest.strip()
        if scheme.lower() == "bearer" and rest:
            return self.bearer(rest, WHERE), None
        if scheme.lower() == "basic" and rest:
            try:
                decoded = base64.b64decode(rest, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                decoded = ""
            user, colon, password = decoded.partition(":")
            if colon:
                return self.basic(user, password, f"{WHERE} (Basic)"), None
            reference = self.book.reference(
                rest, base="basic_credentials", found_in=f"{WHERE} (the base64 text after Basic)"
            )
            return None, f"{scheme} {reference}"
        if rest and TOKEN.fullmatch(scheme):
            return None, f"{scheme} " + self.book.reference(rest, base="token", found_in=WHERE)
        base = "api_key" if placeholder_words(value) is None else value
        return None, self.book.reference(value, base=base, found_in=WHERE)
