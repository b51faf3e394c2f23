"""A pasted command cannot make the import do work that grows with the square of its size.

Every credential found is searched for in every text of the step (the scrub), and
each new one's name is checked against all the names before it; thousands of
credentials in one 1 MB command took minutes of a thread. The import now refuses
a command holding more credentials than any real one does, naming the limit.
"""

from __future__ import annotations

import pytest

from callout.steps.https_request.curl_import import CurlImportError, import_curl
from callout.steps.https_request.curl_secrets import MAX_CREDENTIALS_FOUND


def _token(number: int) -> str:
    return f"sk_live_{number:024d}"


def _problems(command: str) -> list[str]:
    with pytest.raises(CurlImportError) as caught:
        import_curl(command)
    return [problem.message for problem in caught.value.problems]


def test_a_command_with_more_credentials_than_the_limit_is_refused_naming_it() -> None:
    headers = " ".join(
        f"-H 'X-Api-Key{index}: {_token(index)}'" for index in range(MAX_CREDENTIALS_FOUND + 1)
    )

    problems = _problems(f"curl https://api.example.com/v1/things {headers}")

    assert len(problems) == 1
    assert f"at most {MAX_CREDENTIALS_FOUND}" in problems[0]
    assert "sk_live_" not in problems[0]


def test_credentials_in_a_json_body_count_too() -> None:
    fields = ",".join(
        f'"field{index}":"{_token(index)}"' for index in range(MAX_CREDENTIALS_FOUND + 1)
    )

    problems = _problems(f"curl https://api.example.com/v1/things --json '{{{fields}}}'")

    assert f"at most {MAX_CREDENTIALS_FOUND}" in problems[0]


def test_credentials_in_the_url_path_count_too() -> None:
    path = "/".join(_token(index) for index in range(MAX_CREDENTIALS_FOUND + 1))

    problems = _problems(f"curl https://api.example.com/{path}")

    assert f"at most {MAX_CREDENTIALS_FOUND}" in problems[0]


def test_the_limit_itself_is_imported() -> None:
    headers = " ".join(
        f"-H 'X-Api-Key{index}: {_token(index)}'" for index in range(MAX_CREDENTIALS_FOUND)
    )

    result = import_curl(f"curl https://api.example.com/v1/things {headers}")

    assert len(result.secrets) == MAX_CREDENTIALS_FOUND
    assert "sk_live_" not in str(result.to_json())


def test_one_credential_used_many_times_counts_once() -> None:
    token = _token(1)
    headers = " ".join(
        f"-H 'X-Api-Key{index}: {token}'" for index in range(MAX_CREDENTIALS_FOUND + 5)
    )

    result = import_curl(f"curl https://api.example.com/v1/things {headers}")

    assert len(result.secrets) == 1
