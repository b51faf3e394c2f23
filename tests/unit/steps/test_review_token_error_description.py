"""A token endpoint's `error_description` never brings back part of the client secret.

The description was cut to 800 characters before the secret was looked for, then
spaces were trimmed: a secret that straddled the cut left its first characters in
the message, too short a piece for the attempt's redactor to recognise.
"""

from __future__ import annotations

import json

import pytest

from callout.http import InboundResponse
from callout.http.testing import MockTransport
from callout.model.errors import TokenError
from callout.steps.token_fetch import DESCRIPTION_CHARS, fetch_token
from callout.steps.tokens import ClientCredentials

SECRET = "Zq9Wv7Kp3Xr5Tn8Ym2Lb6Hd4Gf1Jc0"


def _pieces(text: str, size: int = 5) -> set[str]:
    return {text[start : start + size] for start in range(len(text) - size + 1)}


@pytest.mark.parametrize("filler", [" ", "\x01", "\t"])
async def test_a_secret_across_the_cut_leaves_no_piece_in_the_message(filler: str) -> None:
    # The secret starts a few characters before the 800th: the cut would split it.
    description = filler * (DESCRIPTION_CHARS * 4 - 10) + SECRET
    body = json.dumps({"error": "invalid_client", "error_description": description}).encode()
    response = InboundResponse(
        status=401, headers=(("Content-Type", "application/json"),), body=body
    )
    credentials = ClientCredentials(
        token_url="https://auth.example.com/token", client_id="client", client_secret=SECRET
    )

    with pytest.raises(TokenError) as caught:
        await fetch_token(credentials, MockTransport(lambda _: response))

    message = str(caught.value)
    assert "invalid_client" in message
    assert not {piece for piece in _pieces(SECRET) if piece in message}
