"""cURL import: credentials become secret references, and no credential is ever shown."""

from __future__ import annotations

import json

import pytest

from callout.steps.https_request.curl_import import CurlImport, CurlImportError, import_curl
from callout.steps.https_request.curl_secrets import (
    SecretBook,
    is_credential_name,
    looks_like_token,
    placeholder_words,
    service_name,
)


def secrets_of(result: CurlImport) -> list[tuple[str, str]]:
    return [(secret.name, secret.found_in) for secret in result.secrets]


def assert_nowhere(result: CurlImport, *credentials: str) -> None:
    shown = json.dumps(result.to_json()) + repr(result)
    for credential in credentials:
        assert credential not in shown


def test_user_with_empty_password_is_a_key_and_becomes_a_secret_user_name() -> None:
    result = import_curl("curl https://api.stripe.com/v1/charges -u sk_test_abcdefgh12345678:")
    assert result.step["auth"] == {"type": "basic", "username": "{{ secrets.stripe_api_key }}"}
    assert secrets_of(result) == [("stripe_api_key", "-u user name")]
    assert_nowhere(result, "sk_test_abcdefgh12345678")


def test_user_and_password_keep_a_plain_user_name_and_make_the_password_a_secret() -> None:
    result = import_curl("curl https://a.example.com --user 'admin:hunter2!'")
    assert result.step["auth"] == {
        "type": "basic",
        "username": "admin",
        "password": "{{ secrets.example_password }}",
    }
    assert secrets_of(result) == [("example_password", "-u password")]
    assert_nowhere(result, "hunter2!")


def test_a_user_name_that_looks_like_a_credential_is_a_secret_too() -> None:
    result = import_curl("curl https://a.example.com -u '$API_KEY:$API_SECRET'")
    assert result.step["auth"] == {
        "type": "basic",
        "username": "{{ secrets.example_api_key }}",
        "password": "{{ secrets.example_api_secret }}",
    }


def test_credentials_in_the_url_become_basic_auth_and_leave_the_url() -> None:
    result = import_curl("curl https://user:p%40ss@a.example.com/x")
    assert result.step["url"] == "https://a.example.com/x"
    assert result.step["auth"]["username"] == "user"
    assert secrets_of(result) == [("example_password", "the URL's password")]
    assert_nowhere(result, "p%40ss", "p@ss")


def test_bearer_authorization_becomes_bearer_auth() -> None:
    result = import_curl(
        "curl https://api.github.com/user -H 'Authorization: Bearer ghp_abcdefghijklmnop1234'"
    )
    assert "headers" not in result.step
    assert result.step["auth"] == {"type": "bearer", "token": "{{ secrets.github_token }}"}
    assert secrets_of(result) == [("github_token", "header Authorization")]
    assert_nowhere(result, "ghp_abcdefghijklmnop1234")


def test_oauth2_bearer_flag_becomes_bearer_auth() -> None:
    result = import_curl("curl --oauth2-bearer 'abc.def.ghi' https://a.example.com")
    assert result.step["auth"] == {"type": "bearer", "token": "{{ secrets.example_token }}"}


def test_basic_authorization_is_decoded_into_basic_auth() -> None:
    result = import_curl(
        "curl https://a.example.com -H 'Authorization: Basic dXNlcjpzM2NyM3Rwdw=='"
    )
    assert result.step["auth"] == {
        "type": "basic",
        "username": "user",
        "password": "{{ secrets.example_password }}",
    }
    assert_nowhere(result, "dXNlcjpzM2NyM3Rwdw==", "s3cr3tpw")


def test_other_authorization_schemes_stay_a_header_holding_a_reference() -> None:
    token = import_curl("curl https://a.example.com -H 'Authorization: Token abc123'")
    assert token.step["headers"] == [
        {"key": "Authorization", "value": "Token {{ secrets.example_token }}"}
    ]
    bare = import_curl("curl https://api.linear.app/graphql -H 'Authorization: lin_api_x'")
    assert bare.step["headers"] == [
        {"key": "Authorization", "value": "{{ secrets.linear_api_key }}"}
    ]
    assert_nowhere(token, "abc123")


def test_a_reference_already_written_is_kept_and_makes_no_new_secret() -> None:
    result = import_curl(
        "curl https://a.example.com -H 'Authorization: Bearer {{ secrets.crm_token }}' "
        "-H 'X-Api-Key: {{ secrets.crm_key }}'"
    )
    assert result.step["auth"] == {"type": "bearer", "token": "{{ secrets.crm_token }}"}
    assert result.step["headers"] == [{"key": "X-Api-Key", "value": "{{ secrets.crm_key }}"}]
    assert result.secrets == ()


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("X-API-Key", "example_api_key"),
        ("Api-Key", "example_api_key"),
        ("DD-API-KEY", "dd_api_key"),
        ("X-Shopify-Access-Token", "shopify_access_token"),
        ("X-Auth-Token", "example_auth_token"),
        ("Ocp-Apim-Subscription-Key", "ocp_apim_subscription_key"),
        ("Private-Token", "example_private_token"),
    ],
)
def test_headers_named_for_a_credential_hold_a_secret_reference(header: str, name: str) -> None:
    result = import_curl(f"curl https://api.example.com -H '{header}: v4lue-of-it'")
    assert result.step["headers"] == [{"key": header, "value": f"{{{{ secrets.{name} }}}}"}]
    assert secrets_of(result) == [(name, f"header {header}")]
    assert_nowhere(result, "v4lue-of-it")


@pytest.mark.parametrize(
    "header",
    ["X-Auth-Email", "X-Algolia-Application-Id", "X-Request-Id", "Accept"],
)
def test_headers_that_only_name_what_a_credential_is_for_stay_text(header: str) -> None:
    result = import_curl(f"curl https://api.example.com -H '{header}: plain'")
    assert result.step["headers"] == [{"key": header, "value": "plain"}]


@pytest.mark.parametrize(
    "token",
    [
        "sk_live_51Habcdefghijklmn",
        "rk_test_abcdefghijklmnop",
        "ghp_16C7e42F292c6912E7710c83",
        "github_pat_11ABCDEFG0123456789_abc",
        "xoxb-1234-5678-abcdefgh",
        "xoxp-1234-5678-abcdefgh",
        "SG.abcdefghijklmnop.qrstuvwxyz012345",
        "shpat_0123456789abcdef0123",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
        "AKIAIOSFODNN7EXAMPLE",
    ],
)
def test_credentials_are_found_by_shape_in_any_header(token: str) -> None:
    result = import_curl(f"curl https://api.example.com -H 'X-Custom: prefix {token}'")
    assert result.step["headers"] == [
        {"key": "X-Custom", "value": "prefix {{ secrets.example_token }}"}
    ]
    assert_nowhere(result, token)


def test_a_bearer_token_inside_another_header_is_found() -> None:
    result = import_curl("curl https://a.example.com -H 'X-Trace-Context: Bearer abc123'")
    assert result.step["headers"][0]["value"] == "Bearer {{ secrets.example_token }}"


def test_cookies_become_one_secret() -> None:
    result = import_curl("curl https://app.example.com -b 'sid=abc; csrftoken=xyz'")
    assert result.step["headers"] == [{"key": "Cookie", "value": "{{ secrets.example_cookie }}"}]
    assert secrets_of(result) == [("example_cookie", "header Cookie")]
    assert_nowhere(result, "sid=abc", "xyz")


def test_credential_query_values_become_references_and_others_stay() -> None:
    result = import_curl(
        "curl 'https://api.example.com/x?key=AAA111&token=BBB222&api_key=CCC333"
        "&access_token=DDD444&page_token=next1&sig=EEE555&q=shoes'"
    )
    assert result.step["query"] == [
        {"key": "key", "value": "{{ secrets.example_api_key }}"},
        {"key": "token", "value": "{{ secrets.example_token }}"},
        {"key": "api_key", "value": "{{ secrets.example_api_key_2 }}"},
        {"key": "access_token", "value": "{{ secrets.example_access_token }}"},
        {"key": "page_token", "value": "next1"},
        {"key": "sig", "value": "{{ secrets.example_sig }}"},
        {"key": "q", "value": "shoes"},
    ]
    assert_nowhere(result, "AAA111", "BBB222", "CCC333", "DDD444", "EEE555")


def test_credential_form_fields_and_json_fields_become_references() -> None:
    form = import_curl(
        "curl https://a.example.com/t -d client_id=abc -d client_secret=shh1 -d max_tokens=5"
    )
    assert form.step["body"] == [
        {"key": "client_id", "value": "abc"},
        {"key": "client_secret", "value": "{{ secrets.example_client_secret }}"},
        {"key": "max_tokens", "value": "5"},
    ]
    assert secrets_of(form) == [("example_client_secret", "form field client_secret")]
    body = import_curl(
        """curl https://a.example.com -d '{"routing_key": "rk1", "dedup_key": "d1", """
        """"auth": {"password": "pw1"}, "project_key": "P1"}'"""
    )
    assert body.step["body"] == {
        "routing_key": "{{ secrets.example_routing_key }}",
        "dedup_key": "d1",
        "auth": {"password": "{{ secrets.example_password }}"},
        "project_key": "P1",
    }
    assert secrets_of(body) == [
        ("example_routing_key", "body.routing_key"),
        ("example_password", "body.auth.password"),
    ]


def test_a_token_in_the_url_path_becomes_a_reference() -> None:
    result = import_curl(
        "curl -X POST https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX "
        """-d '{"text": "hi"}'"""
    )
    assert result.step["url"] == (
        "https://hooks.slack.com/services/T0001/B0001/{{ secrets.slack_webhook_token }}"
    )
    assert_nowhere(result, "XXXXXXXXXXXXXXXXXXXXXXXX")


def test_one_value_is_one_secret_wherever_it_appears_and_is_scrubbed_elsewhere() -> None:
    result = import_curl(
        "curl 'https://a.example.com/x?api_key=s3cr3t-value-1' -H 'X-Api-Key: s3cr3t-value-1' "
        """-d '{"note": "sent with s3cr3t-value-1"}'"""
    )
    assert [secret.name for secret in result.secrets] == ["example_api_key"]
    assert result.secrets[0].found_in == "query parameter api_key, header X-Api-Key"
    assert result.step["body"] == {"note": "sent with {{ secrets.example_api_key }}"}
    assert_nowhere(result, "s3cr3t-value-1")


def test_a_certificate_flag_names_a_secret_for_the_client_certificate() -> None:
    result = import_curl("curl https://api.partner.com -E client.pem --key client.key")
    assert result.step["client_certificate"] == "{{ secrets.partner_client_certificate }}"
    assert secrets_of(result) == [
        (
            "partner_client_certificate",
            "--cert (store the PEM of the certificate and its private key)",
        )
    ]


def test_no_error_message_holds_a_credential_from_the_command() -> None:
    with pytest.raises(CurlImportError) as caught:
        import_curl(
            "curl https://a.example.com -u admin:hunter2 "
            "-H 'Authorization Bearer sk_live_x1y2z3a4' -F f=@x "
            "-X sk_live_abcdefghijkl --sk_live_abcdefghijkl"
        )
    shown = str(caught.value) + repr(caught.value)
    for credential in ("hunter2", "sk_live_x1y2z3a4", "sk_live_abcdefghijkl"):
        assert credential not in shown


def test_the_secret_book_repr_shows_names_only() -> None:
    book = SecretBook("stripe")
    book.reference("sk_live_abcdefghijkl", base="api_key", found_in="-u user name")
    assert repr(book) == "SecretBook(names=['stripe_api_key'])"


@pytest.mark.parametrize(
    ("placeholder", "words"),
    [
        ("$TWILIO_AUTH_TOKEN", "twilio_auth_token"),
        ("${DD_API_KEY}", "dd_api_key"),
        ("<YOUR-TOKEN>", "token"),
        ("{{token}}", "token"),
        ("{api_token}", "api_token"),
        ("YOUR_API_KEY_HERE", "api_key"),
        ("<base64-encoded-write-key>", "write_key"),
        ("your-stripe-key", "stripe_key"),
        ("abc123", None),
    ],
)
def test_a_placeholder_suggests_the_secret_name(placeholder: str, words: str | None) -> None:
    assert placeholder_words(placeholder) == words


@pytest.mark.parametrize(
    ("host", "service"),
    [
        ("api.stripe.com", "stripe"),
        ("your-store.myshopify.com", "shopify"),
        ("api.postmarkapp.com", "postmark"),
        ("api.datadoghq.com", "datadog"),
        ("api.example.co.uk", "example"),
        ("{yourDomain}", "api"),
        ("127.0.0.1", "api"),
    ],
)
def test_the_service_name_comes_from_the_host(host: str, service: str) -> None:
    assert service_name(host) == service


@pytest.mark.parametrize(
    ("name", "where", "credential"),
    [
        ("client_secret", "body", True),
        ("routing_key", "body", True),
        ("project_key", "body", False),
        ("key", "query", True),
        ("page_token", "query", False),
        ("max_tokens", "body", False),
        ("token_type", "body", False),
        ("writeKey", "body", True),
        ("sig", "query", True),
        ("sig", "body", False),
    ],
)
def test_credential_names(name: str, where: str, credential: bool) -> None:
    assert is_credential_name(name, where=where) is credential


def test_ordinary_ids_are_not_token_shaped() -> None:
    for text in ("C123ABC456", "tok_mastercard", "2022-11-28", "cus_9s6XKzkNRiz8i3"):
        assert not looks_like_token(text)


def test_a_user_without_a_password_notes_that_curl_would_ask_for_one() -> None:
    result = import_curl("curl https://a.example.com -u me@example.com")
    assert result.step["auth"] == {"type": "basic", "username": "me@example.com"}
    assert result.secrets == ()
    assert result.notes == (
        (
            "-u gives no password (curl would ask for one): add auth.password: {{ secrets.NAME }} "
            "if the API needs one"
        ),
    )


def test_a_short_credential_is_not_searched_for_inside_other_text() -> None:
    result = import_curl("curl 'https://a.example.com/x?a=1' -u 'me:x1' -d 'note=x1y2'")
    assert result.step["body"] == [{"key": "note", "value": "x1y2"}]
    assert result.step["query"] == [{"key": "a", "value": "1"}]
