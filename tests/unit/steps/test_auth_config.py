"""The `auth` field of make_https_request (basic, bearer, oauth2_client_credentials): one
test per rule, each problem at its path."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import DocumentError
from callout.steps.https_request import HttpsRequestConfig
from callout.steps.https_request.auth_config import BasicAuth, BearerAuth, OAuth2Auth
from callout.steps.validation import validate_workflow

SECRETS = frozenset({"stripe_key", "stripe_pw", "crm_token", "oauth_secret"})
OAUTH2: dict[str, Any] = {
    "type": "oauth2_client_credentials",
    "token_url": "https://auth.test/oauth/token",
    "client_id": "my-client",
    "client_secret": "{{ secrets.oauth_secret }}",
}


def document(**step: Any) -> dict[str, Any]:
    return {
        "name": "auth",
        "steps": [
            {"id": "call", "action": "make_https_request", "url": "https://api.test/"} | step
        ],
    }


def problems(*, allow_http: bool = False, **step: Any) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        validate_workflow(document(**step), secrets=SECRETS, allow_http=allow_http)
    return [str(problem) for problem in caught.value.problems]


def config(*, allow_http: bool = False, **step: Any) -> HttpsRequestConfig:
    checked = validate_workflow(document(**step), secrets=SECRETS, allow_http=allow_http)
    step_config = checked.steps[0].config
    assert isinstance(step_config, HttpsRequestConfig)
    return step_config


def test_basic_takes_a_user_name_and_an_optional_password_secret() -> None:
    stripe = config(auth={"type": "basic", "username": "{{ secrets.stripe_key }}"})
    assert stripe.auth == BasicAuth(username="{{ secrets.stripe_key }}")
    both = config(auth={"type": "basic", "username": "ada", "password": "{{ secrets.stripe_pw }}"})
    assert both.auth == BasicAuth(username="ada", password="{{ secrets.stripe_pw }}")


def test_bearer_takes_a_token_secret() -> None:
    checked = config(auth={"type": "bearer", "token": "{{ secrets.crm_token }}"})
    assert checked.auth == BearerAuth(token="{{ secrets.crm_token }}")


def test_oauth2_client_credentials_keeps_every_setting() -> None:
    checked = config(
        auth=OAUTH2
        | {"scopes": ["read", "write:all"], "audience": "https://api.test", "client_auth": "body"}
    )
    assert checked.auth == OAuth2Auth(
        token_url="https://auth.test/oauth/token",
        client_id="my-client",
        client_secret="{{ secrets.oauth_secret }}",
        scopes=("read", "write:all"),
        audience="https://api.test",
        client_auth="body",
    )
    assert config(auth=OAUTH2).auth == OAuth2Auth(
        "https://auth.test/oauth/token", "my-client", "{{ secrets.oauth_secret }}"
    )


def test_auth_secrets_count_as_the_steps_secrets() -> None:
    basic = {
        "type": "basic",
        "username": "{{ secrets.stripe_key }}",
        "password": "{{ secrets.stripe_pw }}",
    }
    assert validate_workflow(document(auth=basic), secrets=SECRETS).secret_names() == {
        "stripe_key",
        "stripe_pw",
    }
    assert validate_workflow(document(auth=OAUTH2), secrets=SECRETS).secret_names() == {
        "oauth_secret"
    }


def test_auth_must_be_an_object() -> None:
    assert problems(auth="basic") == [
        "steps[0].auth: must be an object with a type (basic, bearer, oauth2_client_credentials)"
    ]


def test_auth_type_must_be_known() -> None:
    assert problems(auth={"type": "digest", "username": "a"}) == [
        "steps[0].auth.type: must be one of basic, bearer, oauth2_client_credentials"
    ]


def test_auth_refuses_keys_of_another_type() -> None:
    found = problems(auth={"type": "bearer", "token": "{{ secrets.crm_token }}", "username": "a"})
    assert found == ["steps[0].auth.username: unknown key (allowed: type, token)"]


def test_auth_beside_an_authorization_header_is_refused() -> None:
    found = problems(
        auth={"type": "bearer", "token": "{{ secrets.crm_token }}"},
        headers=[{"key": "authorization", "value": "Bearer {{ secrets.crm_token }}"}],
    )
    assert found == [
        (
            "steps[0].headers[0].key: authorization is set by auth; "
            "remove this header or auth (one or the other)"
        )
    ]


def test_basic_username_is_required() -> None:
    assert problems(auth={"type": "basic"}) == [
        (
            "steps[0].auth.username: is required: the user name (text, or a reference such as "
            "{{ secrets.stripe_key }})"
        )
    ]


def test_basic_username_references_are_checked() -> None:
    found = problems(auth={"type": "basic", "username": "{{ secrets.unknown }}"})
    assert len(found) == 1
    assert found[0].startswith("steps[0].auth.username: {{ secrets.unknown }}: unknown secret")


def test_basic_username_cannot_hold_a_colon() -> None:
    assert problems(auth={"type": "basic", "username": "ada:{{ secrets.stripe_key }}"}) == [
        (
            'steps[0].auth.username: must not contain ":" '
            "(Basic separates the user name from the password)"
        )
    ]


def test_basic_username_cannot_hold_control_characters() -> None:
    assert problems(auth={"type": "basic", "username": "ada\r\n"}) == [
        "steps[0].auth.username: must not contain CR, LF or NUL (they would split the header)"
    ]


@pytest.mark.parametrize(
    "password", ["hunter2", "{{ trigger.password }}", "x{{ secrets.stripe_pw }}", 7]
)
def test_basic_password_must_be_exactly_one_secret_reference(password: Any) -> None:
    found = problems(auth={"type": "basic", "username": "ada", "password": password})
    assert len(found) == 1
    assert found[0].startswith("steps[0].auth.password: must be")
    assert "{{ secrets.stripe_pw }}" in found[0]


def test_basic_password_secret_must_exist() -> None:
    found = problems(auth={"type": "basic", "username": "a", "password": "{{ secrets.gone }}"})
    assert len(found) == 1
    assert found[0].startswith("steps[0].auth.password: {{ secrets.gone }}: unknown secret gone")


@pytest.mark.parametrize("token", [None, "abc123", "Bearer {{ secrets.crm_token }}"])
def test_bearer_token_must_be_exactly_one_secret_reference(token: Any) -> None:
    auth = {"type": "bearer"} | ({"token": token} if token is not None else {})
    found = problems(auth=auth)
    assert len(found) == 1
    assert found[0].startswith("steps[0].auth.token: must be")
    assert "{{ secrets.crm_token }}" in found[0]


def test_oauth2_requires_token_url_client_id_and_client_secret() -> None:
    found = problems(auth={"type": "oauth2_client_credentials"})
    assert found == [
        "steps[0].auth.token_url: is required: the https:// address of the token endpoint",
        "steps[0].auth.client_id: is required: the client id (text, or a reference)",
        (
            "steps[0].auth.client_secret: must be a reference such as {{ secrets.oauth_secret }}, "
            "not null"
        ),
    ]


@pytest.mark.parametrize(
    ("token_url", "why"),
    [
        ("https://{{ trigger.host }}/token", "is a literal URL; it cannot hold a reference"),
        ("http://auth.test/token", "must start with https://"),
        ("ftp://auth.test/token", "must start with https://"),
        ("https://auth.test/to ken", "must not contain spaces or control characters"),
        ("https:///token", "has no host name"),
        ("https://u:p@auth.test/token", "must not carry credentials (user:password@)"),
        ("https://auth.test:99999/token", "has an invalid port"),
        ("https://auth.test/" + "t" * 2048, "is longer than 2048 characters"),
    ],
)
def test_oauth2_token_url_is_a_literal_https_url(token_url: str, why: str) -> None:
    assert problems(auth=OAUTH2 | {"token_url": token_url}) == [f"steps[0].auth.token_url: {why}"]


def test_oauth2_token_url_may_be_http_where_the_operator_allows_it() -> None:
    checked = config(auth=OAUTH2 | {"token_url": "http://127.0.0.1:8080/token"}, allow_http=True)
    assert isinstance(checked.auth, OAuth2Auth)


def test_oauth2_client_id_references_are_checked() -> None:
    found = problems(auth=OAUTH2 | {"client_id": "{{ steps.call.body.id }}"})
    assert len(found) == 1
    assert found[0].startswith("steps[0].auth.client_id: {{ steps.call.body.id }}:")


def test_oauth2_client_secret_must_be_exactly_one_secret_reference() -> None:
    found = problems(auth=OAUTH2 | {"client_secret": "s3cr3t"})
    assert found == [
        (
            "steps[0].auth.client_secret: must be exactly one secret reference such as "
            "{{ secrets.oauth_secret }}; a credential written in the document would be stored "
            "in clear"
        )
    ]


def test_oauth2_scopes_must_be_a_list() -> None:
    assert problems(auth=OAUTH2 | {"scopes": "read write"}) == [
        "steps[0].auth.scopes: must be a list of scopes, not a string"
    ]


def test_oauth2_scopes_hold_at_most_50() -> None:
    assert problems(auth=OAUTH2 | {"scopes": [f"s{index}" for index in range(51)]}) == [
        "steps[0].auth.scopes: has 51 scopes; at most 50"
    ]


def test_oauth2_each_scope_is_one_literal_scope_token() -> None:
    found = problems(auth=OAUTH2 | {"scopes": ["read", "a b", 3, "{{x}}", 'q"']})
    assert found == [
        'steps[0].auth.scopes[1]: must be one scope: printable ASCII without spaces, " or \\',
        "steps[0].auth.scopes[2]: must be a string, not a number",
        "steps[0].auth.scopes[3]: is a literal scope; it cannot hold a reference",
        'steps[0].auth.scopes[4]: must be one scope: printable ASCII without spaces, " or \\',
    ]


@pytest.mark.parametrize(
    ("audience", "why"),
    [
        (5, "must be text, not a number"),
        ("", "must not be empty (leave it out for no audience)"),
        ("{{ trigger.aud }}", "is literal text; it cannot hold a reference"),
        ("a\nb", "must not contain CR, LF or NUL (they would split the header)"),
    ],
)
def test_oauth2_audience_is_literal_text(audience: Any, why: str) -> None:
    assert problems(auth=OAUTH2 | {"audience": audience}) == [f"steps[0].auth.audience: {why}"]


def test_oauth2_client_auth_is_basic_or_body() -> None:
    assert problems(auth=OAUTH2 | {"client_auth": "header"}) == [
        "steps[0].auth.client_auth: must be basic or body"
    ]
