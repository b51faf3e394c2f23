"""`auth.token_url` that Python's URL parser refuses is a problem at its path, not a crash.

`urlsplit` raises ValueError for a broken IPv6 host (`https://[::1/token`); validation
let it out, so `callout validate` and publishing answered with an internal error.
"""

from __future__ import annotations

import pytest

from callout.model.errors import DocumentError
from callout.steps.validation import validate_workflow


@pytest.mark.parametrize(
    "token_url",
    ["https://[::1/token", "https://auth]test/token", "https://[not-an-address]/token"],
)
def test_a_token_url_the_parser_refuses_is_a_problem_at_its_path(token_url: str) -> None:
    document = {
        "name": "auth",
        "steps": [
            {
                "id": "call",
                "action": "make_https_request",
                "url": "https://api.test/",
                "auth": {
                    "type": "oauth2_client_credentials",
                    "token_url": token_url,
                    "client_id": "my-client",
                    "client_secret": "{{ secrets.oauth_secret }}",
                },
            }
        ],
    }

    with pytest.raises(DocumentError) as caught:
        validate_workflow(document, secrets=frozenset({"oauth_secret"}), allow_http=False)

    assert [str(problem) for problem in caught.value.problems] == [
        "steps[0].auth.token_url: is not a valid URL"
    ]
