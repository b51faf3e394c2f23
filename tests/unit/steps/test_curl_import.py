"""cURL import: real commands from public API docs, each flag, credentials, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from callout.model.errors import DocumentError
from callout.steps.https_request.curl_import import (
    MAX_COMMAND_CHARS,
    CurlImport,
    CurlImportError,
    import_curl,
)
from callout.steps.validation import validate_workflow

FIXTURES = Path(__file__).parents[2] / "fixtures" / "curl"
COMMANDS = sorted(FIXTURES.glob("*.curl"))

CREDENTIALS_IN_FIXTURES = (
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "xoxb-1234-56789abcdefghijklmnop",
    "e93facc04764012d7bfb002500d5d1a6",
    "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz01",
    "c2547eb745079dac9320b638f5e225cf483cc5cfdda41",
    "pk.eyJ1IjoibWFwYm94IiwiYSI6ImNpejY4M29iazA2Z2gycXA4N2pmbDZmangifQ.-g_vE53SD2WrJ6tFX7QHmA",
    "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "server token",
    "8f2a0c1e9b7d4e3f",
    "Xy7PqR2sT9uV",
    "$OPENAI_API_KEY",
    "$TWILIO_AUTH_TOKEN",
    "YOUR_CLIENT_SECRET",
    "{api_token}",
    "$ELASTIC_PASSWORD",
)
"""Every credential the fixtures hold (real-looking or placeholder): none may come out."""


def imported(command: str, **options: Any) -> CurlImport:
    return import_curl(command, **options)


def step_of(command: str) -> dict[str, Any]:
    return imported(command).step


def problems(command: str, **options: Any) -> list[str]:
    with pytest.raises(CurlImportError) as caught:
        import_curl(command, **options)
    assert all(problem.path == "command" for problem in caught.value.problems)
    return [problem.message for problem in caught.value.problems]


def expected(path: Path) -> Any:
    return json.loads(
        path.with_name(path.name.removesuffix(".curl") + ".expected.json").read_text()
    )


# the fixtures: commands as public API docs print them ----------------------------


def test_there_are_at_least_twenty_real_world_commands() -> None:
    assert len(COMMANDS) >= 20
    for path in COMMANDS:
        assert path.with_name(path.name.removesuffix(".curl") + ".expected.json").exists()


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: path.stem)
def test_each_fixture_imports_as_expected(path: Path) -> None:
    want = expected(path)
    command = path.read_text()
    if "error" in want:
        assert problems(command) == want["error"]
    else:
        assert imported(command).to_json() == want


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: path.stem)
def test_no_fixture_credential_comes_out_in_the_step_secrets_notes_or_errors(path: Path) -> None:
    try:
        shown = json.dumps(imported(path.read_text()).to_json())
    except CurlImportError as exc:
        shown = str(exc)
    for credential in CREDENTIALS_IN_FIXTURES:
        assert credential not in shown


@pytest.mark.parametrize(
    "path",
    [path for path in COMMANDS if "error" not in expected(path)],
    ids=lambda path: path.stem,
)
def test_each_imported_fixture_step_passes_step_validation_with_its_secrets(path: Path) -> None:
    result = imported(path.read_text())
    document = {"name": "Imported", "steps": [result.step]}
    names = frozenset(secret.name for secret in result.secrets)
    try:
        validate_workflow(
            document, secrets=names, allow_http=result.step["url"].startswith("http://")
        )
    except DocumentError as exc:  # pragma: no cover - the message is the point
        pytest.fail("\n".join(str(problem) for problem in exc.problems))


# method, URL, query ---------------------------------------------------------------


def test_method_defaults_to_get_without_data_and_post_with_data() -> None:
    assert step_of("curl https://api.example.com/items")["method"] == "GET"
    assert step_of("curl https://api.example.com/items -d a=1")["method"] == "POST"


@pytest.mark.parametrize(
    "command",
    [
        "curl -X PUT https://api.example.com/items/1 -d a=1",
        "curl --request PUT https://api.example.com/items/1 -d a=1",
        "curl -XPUT https://api.example.com/items/1 -d a=1",
        "curl -X put https://api.example.com/items/1 -d a=1",
    ],
)
def test_x_and_request_set_the_method(command: str) -> None:
    assert step_of(command)["method"] == "PUT"


def test_url_flag_names_the_url_and_its_query_becomes_pairs() -> None:
    step = step_of("curl --url 'https://api.example.com/v1/items?limit=10&q=red%20shoes&tag=a+b'")
    assert step["url"] == "https://api.example.com/v1/items"
    assert step["query"] == [
        {"key": "limit", "value": "10"},
        {"key": "q", "value": "red shoes"},
        {"key": "tag", "value": "a b"},
    ]


def test_a_query_piece_without_a_value_keeps_its_key_with_an_empty_value() -> None:
    assert step_of("curl 'https://localhost:9200/_search?pretty'")["query"] == [
        {"key": "pretty", "value": ""}
    ]


def test_get_flag_moves_every_kind_of_data_into_the_query_after_the_urls_own() -> None:
    step = step_of(
        "curl -G 'https://api.example.com/search?page=2' -d limit=5 "
        "--data-urlencode 'q=red & blue' --data-raw 'x=%41'"
    )
    assert step["method"] == "GET"
    assert "body" not in step
    assert step["query"] == [
        {"key": "page", "value": "2"},
        {"key": "limit", "value": "5"},
        {"key": "q", "value": "red & blue"},
        {"key": "x", "value": "A"},
    ]


def test_url_query_adds_pairs_encoded_or_as_written() -> None:
    step = step_of("curl https://a.example.com/x --url-query 'q=a b' --url-query '+r=a%20b'")
    assert step["query"] == [{"key": "q", "value": "a b"}, {"key": "r", "value": "a b"}]


def test_a_url_without_scheme_is_read_as_https_with_a_note() -> None:
    result = imported("curl localhost:9200/_cluster/health")
    assert result.step["url"] == "https://localhost:9200/_cluster/health"
    assert result.notes == (
        "the URL has no scheme: it is read as https:// (curl would use http://)",
    )


def test_an_http_url_is_kept_with_a_note_that_callout_needs_https() -> None:
    result = imported("curl http://api.open-notify.org/iss-now.json")
    assert result.step["url"] == "http://api.open-notify.org/iss-now.json"
    assert "CALLOUT_ALLOW_HTTP=1" in result.notes[0]


def test_a_fragment_is_dropped_as_curl_drops_it() -> None:
    assert step_of("curl 'https://a.example.com/docs#top'")["url"] == "https://a.example.com/docs"


def test_location_follows_redirects_and_location_trusted_says_credentials_stay() -> None:
    assert step_of("curl -L https://a.example.com")["follow_redirects"] is True
    assert "follow_redirects" not in step_of("curl https://a.example.com")
    result = imported("curl --location-trusted https://a.example.com")
    assert result.step["follow_redirects"] is True
    assert "drops Authorization and Cookie" in result.notes[0]


def test_max_time_becomes_the_timeout_when_callout_allows_it() -> None:
    assert step_of("curl -m 12.5 https://a.example.com")["timeout"] == 12.5
    assert step_of("curl --max-time 20 https://a.example.com")["timeout"] == 20
    result = imported("curl --max-time 900 https://a.example.com")
    assert "timeout" not in result.step
    assert "outside callout's 1 to 300 seconds" in result.notes[0]


# headers ----------------------------------------------------------------------------


def test_header_flags_become_headers_in_order() -> None:
    step = step_of(
        "curl https://a.example.com -H 'Accept: application/json' "
        "--header 'X-Request-Source:docs' -H'X-Empty;' -A 'agent/1' -e https://ref.example"
    )
    assert step["headers"] == [
        {"key": "Accept", "value": "application/json"},
        {"key": "X-Request-Source", "value": "docs"},
        {"key": "X-Empty", "value": ""},
        {"key": "User-Agent", "value": "agent/1"},
        {"key": "Referer", "value": "https://ref.example"},
    ]


def test_headers_callout_sets_itself_are_dropped_with_a_note() -> None:
    result = imported(
        "curl https://a.example.com -H 'Host: other' -H 'Content-Length: 3' "
        "-H 'Idempotency-Key: k1' -H 'Persona-Signature: t=1,v1=0' -H 'Accept-Encoding: br' "
        "-H 'X-Remove:'"
    )
    assert "headers" not in result.step
    assert [note.split(":")[0] for note in result.notes] == [
        "header Host is dropped",
        "header Content-Length is dropped",
        "header Idempotency-Key is dropped",
        "header Persona-Signature is dropped",
        "header Accept-Encoding is dropped",
        "-H 'X-Remove",
    ]


def test_a_header_given_twice_is_joined_into_one() -> None:
    result = imported("curl https://a.example.com -H 'Accept: a/b' -H 'accept: c/d'")
    assert result.step["headers"] == [{"key": "Accept", "value": "a/b, c/d"}]
    assert result.notes == ("header accept is given more than once: its values are joined",)


def test_content_type_json_is_left_to_callout_and_a_vendor_json_type_is_kept() -> None:
    plain = step_of("curl https://a.example.com -H 'Content-Type: application/json' -d '{}'")
    assert "headers" not in plain
    vendor = step_of(
        "curl https://a.example.com -H 'Content-Type: application/vnd.api+json' -d '{\"a\":1}'"
    )
    assert vendor["headers"] == [{"key": "Content-Type", "value": "application/vnd.api+json"}]
    assert vendor["body"] == {"a": 1}


# bodies -----------------------------------------------------------------------------


def test_json_data_without_a_content_type_is_a_json_body() -> None:
    step = step_of("""curl https://a.example.com --data '{"a": [1, "x"]}'""")
    assert step["body"] == {"a": [1, "x"]}
    assert "body_type" not in step


@pytest.mark.parametrize("flag", ["-d", "--data", "--data-raw", "--data-binary", "--data-ascii"])
def test_each_data_flag_gives_form_fields_decoded_once(flag: str) -> None:
    step = step_of(f"curl https://a.example.com {flag} 'amount=2000&note=a+b%26c' {flag} x=1")
    assert step["body_type"] == "form"
    assert step["body"] == [
        {"key": "amount", "value": "2000"},
        {"key": "note", "value": "a b&c"},
        {"key": "x", "value": "1"},
    ]


def test_data_urlencode_keeps_its_content_as_written() -> None:
    step = step_of("curl https://a.example.com --data-urlencode 'Body=50% off & more' -d To=%2B1")
    assert step["body"] == [
        {"key": "Body", "value": "50% off & more"},
        {"key": "To", "value": "+1"},
    ]


def test_json_flag_sends_json_with_accept_like_curl() -> None:
    step = step_of("""curl --json '{"a":' --json ' 1}' https://a.example.com""")
    assert step["method"] == "POST"
    assert step["body"] == {"a": 1}
    assert step["headers"] == [{"key": "Accept", "value": "application/json"}]


def test_other_content_types_give_a_raw_body_with_its_content_type() -> None:
    step = step_of(
        "curl https://a.example.com -H 'Content-Type: application/xml' -d '<order id=\"1\"/>'"
    )
    assert (step["body_type"], step["body"], step["content_type"]) == (
        "raw",
        '<order id="1"/>',
        "application/xml",
    )
    assert "headers" not in step


def test_json_typed_data_that_is_not_json_is_raw_and_its_braces_stay_sendable() -> None:
    result = imported(
        "curl https://a.example.com -H 'Content-Type: application/json' "
        """-d '{"amount": <AMOUNT>, "x": {"y": {"z": 1}}}'"""
    )
    assert result.step["body_type"] == "raw"
    assert result.step["content_type"] == "application/json"
    assert result.step["body"] == '{"amount": <AMOUNT>, "x": {"y": {"z": 1} } }'
    assert result.notes[0] == (
        "the body cannot be read as JSON (not valid JSON: Expecting value (line 1, column 12)): "
        "it is sent as raw text with content_type application/json (replace any placeholder in "
        "it, or make it valid JSON to edit it as JSON)"
    )
    assert result.notes[-1].endswith("<AMOUNT> (body)")


def test_data_that_looks_like_json_but_is_not_is_raw_json_text() -> None:
    result = imported("""curl https://a.example.com -d '{"amount": $AMOUNT}'""")
    assert (result.step["body_type"], result.step["content_type"]) == ("raw", "application/json")
    assert result.notes[0].startswith("the body looks like JSON but cannot be read as JSON")


def test_data_that_is_not_name_value_pairs_is_raw_form_text() -> None:
    result = imported("curl https://a.example.com -d 'hello world'")
    assert result.step["body"] == "hello world"
    assert result.step["content_type"] == "application/x-www-form-urlencoded"


def test_a_here_document_and_a_here_string_feed_at_data() -> None:
    here_document = 'curl https://a.example.com -d @- <<EOF\n{\n  "a": 1\n}\nEOF\n'
    assert step_of(here_document)["body"] == {"a": 1}
    assert step_of("""curl https://a.example.com --data-binary @- <<< '{"b": 2}'""")["body"] == {
        "b": 2
    }


def test_a_client_credentials_token_request_notes_the_oauth2_auth_kind() -> None:
    result = imported("curl https://a.example.com/token -d grant_type=client_credentials")
    assert "oauth2_client_credentials" in result.notes[0]


# notes for what callout does its own way ---------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        "-s",
        "-v",
        "-i",
        "--compressed",
        "-sSf",
        "-o out.json",
        "-w '%{http_code}' --retry 3 --connect-timeout 5 --http1.1",
    ],
)
def test_harmless_flags_are_ignored(flags: str) -> None:
    result = imported(f"curl {flags} https://a.example.com")
    assert result.step["url"] == "https://a.example.com"
    assert result.notes == ()


def test_insecure_is_ignored_with_a_note_that_callout_always_verifies_tls() -> None:
    result = imported("curl -k https://localhost:9200")
    assert result.notes == (
        (
            "-k/--insecure is ignored: callout always verifies TLS certificates (an operator can "
            "trust another CA with CALLOUT_CA_BUNDLE)"
        ),
    )


def test_placeholders_are_kept_as_text_and_listed_with_their_fields() -> None:
    result = imported(
        "curl https://api.example.com/$ACCOUNT_ID/items/<ITEM_ID>/{variant} "
        '-H \'X-Tenant: {{tenant}}\' -d \'{"owner": "YOUR_NAME", "at": "$(date +%s)"}\''
    )
    assert result.step["url"] == "https://api.example.com/$ACCOUNT_ID/items/<ITEM_ID>/{variant}"
    assert result.notes[-1] == (
        "placeholders are kept as text; replace them before the step runs: $ACCOUNT_ID (url); "
        "<ITEM_ID> (url); {variant} (url); {{tenant}} (headers[0].value); YOUR_NAME "
        "(body.owner); $(date +%s) (body.at)"
    )


def test_line_continuations_and_a_prompt_and_a_pipe_are_read_like_a_shell() -> None:
    result = imported(
        "$ curl https://a.example.com \\\n  -H 'X-A: 1' \\\r\n  -H \"X-B: 2\" | jq '.items'"
    )
    assert [header["key"] for header in result.step["headers"]] == ["X-A", "X-B"]
    assert result.notes == ("the pipe into jq is ignored (it reads curl's output)",)


# errors -------------------------------------------------------------------------------


def test_multipart_form_is_refused_naming_the_flag() -> None:
    assert problems("curl https://a.example.com -F file=@photo.jpg --form a=b") == [
        (
            "-F is not supported: it sends a multipart/form-data body, which callout does not "
            "send (it sends JSON, form (x-www-form-urlencoded) or raw bodies)"
        ),
        (
            "--form is not supported: it sends a multipart/form-data body, which callout does "
            "not send (it sends JSON, form (x-www-form-urlencoded) or raw bodies)"
        ),
    ]


def test_every_problem_is_listed_at_once() -> None:
    assert problems("curl https://a.example.com --digest --frobnicate -Q -T up.txt") == [
        "--frobnicate is not an option the import knows: remove it, or import without it",
        "-Q is not an option the import knows: remove it, or import without it",
        (
            "--digest is not supported: it uses HTTP Digest authentication, which callout does not "
            "do (basic, bearer, OAuth2 client credentials)"
        ),
        (
            "-T is not supported: it uploads a file; the import cannot read files: paste the data "
            "with --data"
        ),
    ]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("", "the command is empty: paste a curl command"),
        ("curl -s", "the command names no URL"),
        ("http POST https://a.example.com", "this is not a curl command: it must start with curl"),
        (
            "curl 'https://a.example.com",
            "the command cannot be read: a ' quote opened at line 1, column 6 is never closed",
        ),
        (
            'curl https://a.example.com \\\n  -d "a=1',
            'the command cannot be read: a " quote opened at line 2, column 6 is never closed',
        ),
        (
            "curl https://a.example.com https://b.example.com",
            "the command names more than one URL; import one request at a time",
        ),
        (
            "curl https://a.example.com && curl https://b.example.com",
            "the text holds more than one command (after &&); import one curl command at a time",
        ),
        (
            "curl -d @body.json https://a.example.com",
            (
                "-d @FILE reads the data from a file (or standard input); the import cannot read "
                "files: paste the data itself"
            ),
        ),
        ("ftp://a.example.com/x", "the URL's scheme ftp:// is not one callout sends (https)"),
        (
            "curl -X GET https://a.example.com -d '{\"query\": {}}'",
            (
                "the command sends data with -X GET, but callout sends no body with GET or DELETE: "
                "add -G to send the data as query parameters, or use POST"
            ),
        ),
        (
            "curl -X HEAD https://a.example.com",
            "-X HEAD is not supported: callout sends DELETE, GET, PATCH, POST or PUT",
        ),
        (
            "curl -X PURGE https://a.example.com",
            "-X PURGE is not a method callout sends (DELETE, GET, PATCH, POST or PUT)",
        ),
        (
            "curl -H 'nocolon' https://a.example.com",
            "header 1 (-H) has no ':': write it as -H 'Name: value'",
        ),
        (
            "curl https://a.example.com --json '{}' -d a=1",
            "the command mixes --json with -d/--data; keep one",
        ),
        ("curl https://a.example.com -H", "-H needs a value after it"),
        (
            "curl -u a:b -H 'Authorization: Bearer x' https://a.example.com",
            "the command authenticates twice (-u and an Authorization header); keep one",
        ),
        (
            "curl -H 'Authorization: Bearer x' -H 'Authorization: Basic y' https://a.example.com",
            "the command sends two Authorization headers; keep one",
        ),
        (
            "curl https://a.example.com --data-urlencode @notes.txt",
            (
                "--data-urlencode without a name= reads a file: write it as --data-urlencode "
                "'name=value'"
            ),
        ),
    ],
)
def test_a_command_it_cannot_read_is_refused_with_a_clear_message(
    command: str, message: str
) -> None:
    assert problems(command) == [message]


def test_a_command_too_long_is_refused_before_it_is_read() -> None:
    assert problems("curl https://a.example.com -d " + "a" * MAX_COMMAND_CHARS) == [
        f"the command is longer than {MAX_COMMAND_CHARS} characters"
    ]


def test_the_step_id_is_given_or_made_from_the_service_and_path() -> None:
    assert step_of("curl https://api.stripe.com/v1/charges")["id"] == "stripe_charges"
    assert imported("curl https://api.stripe.com/v1/charges", step_id="charge").step["id"] == (
        "charge"
    )
    assert problems("curl https://a.example.com", step_id="Bad-Id") == [
        "the step id must be a-z, then a-z, 0-9 or _ (up to 64 characters)"
    ]


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ("-I", "-I is not supported: it sends a HEAD request"),
        ("--proxy http://proxy:3128", "--proxy is not supported: it sends through a proxy"),
        ("-x http://proxy:3128", "-x is not supported: it sends through a proxy"),
        ("--ntlm", "--ntlm is not supported: it uses NTLM authentication"),
        ("--aws-sigv4 aws:amz", "--aws-sigv4 is not supported: it signs with AWS Signature V4"),
        ("-K opts.txt", "-K is not supported: it reads options from a file"),
        ("--unix-socket /run/x.sock", "--unix-socket is not supported: it connects to a Unix"),
        ("-H @headers.txt", "-H @FILE reads headers from a file"),
        ("-b cookies.txt", "-b FILE reads cookies from a file"),
        ("--data-binary @-", "--data-binary @FILE reads the data from a file"),
        ("--json @body.json", "--json @FILE reads the data from a file"),
    ],
)
def test_refused_options_are_named_with_the_reason(flags: str, named: str) -> None:
    [message] = problems(f"curl {flags} https://a.example.com")
    assert message.startswith(named)


def test_the_last_method_given_wins_as_in_curl() -> None:
    assert step_of("curl -X PUT -X PATCH https://a.example.com -d a=1")["method"] == "PATCH"


def test_environment_assignments_before_curl_are_ignored_with_a_note() -> None:
    result = imported("TOKEN=abc123 DEBUG=1 curl https://a.example.com")
    assert result.step["url"] == "https://a.example.com"
    assert result.notes == ("environment assignments before curl are ignored",)


def test_a_literal_double_brace_that_is_not_a_reference_is_noted() -> None:
    result = imported(
        "curl https://a.example.com -H 'Content-Type: text/plain' -d 'a }} b' -H 'X-T: {{'"
    )
    assert result.step["body"] == "a }} b"
    assert result.notes == (
        (
            "headers[0].value holds '{{' or '}}' that is not a reference (column 1): callout reads "
            "{{ }} as a reference and cannot send them as text; edit it"
        ),
        (
            "body holds '{{' or '}}' that is not a reference (column 3): callout reads {{ }} as a "
            "reference and cannot send them as text; edit it"
        ),
    )


def test_a_command_without_the_word_curl_is_read_when_it_starts_with_options_or_a_url() -> None:
    assert step_of("-s https://a.example.com")["url"] == "https://a.example.com"
    assert step_of("https://a.example.com -d a=1")["method"] == "POST"
