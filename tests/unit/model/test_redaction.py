"""The Redactor hides a secret in every form in which callout itself writes it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callout.model.redaction import BATCH_CHARACTERS, REDACTED, Redactor, secret_forms
from callout.templates import Scope, resolve_url

QUERY_SECRET = "tok+aa/Zm9v=="
"""The issue's example: percent-encoded in a query it reads `tok%2Baa%2FZm9v%3D%3D`."""


def test_every_secret_value_is_replaced_longest_first() -> None:
    redactor = Redactor(["abc", "abcdef"])
    assert redactor.text("x abcdef y abc") == f"x {REDACTED} y {REDACTED}"


def test_authorization_keeps_its_scheme_word_only() -> None:
    redactor = Redactor([])
    assert redactor.header("Authorization", "Bearer tok-123") == f"Bearer {REDACTED}"
    assert redactor.header("Cookie", "session=1") == REDACTED


def test_values_inside_json_are_replaced() -> None:
    redactor = Redactor(["s3cr3t"])
    assert redactor.value({"a": ["x s3cr3t"], "s3cr3t": 1}) == {
        "a": [f"x {REDACTED}"],
        REDACTED: 1,
    }


def test_repr_shows_no_value() -> None:
    assert "s3cr3t" not in repr(Redactor(["s3cr3t"]))


def test_a_secret_in_a_query_is_hidden_in_the_percent_encoded_url_callout_built() -> None:
    scope = Scope(trigger={}, steps={}, secrets={"sb": QUERY_SECRET}, run={"id": "wfr_1"})
    url = resolve_url("https://api.example.com/v1?token={{ secrets.sb }}&x=1", scope)
    assert "tok%2Baa%2FZm9v%3D%3D" in url  # what is sent, and what was recorded before
    assert Redactor([QUERY_SECRET]).text(url) == f"https://api.example.com/v1?token={REDACTED}&x=1"


def test_a_secret_in_a_path_is_hidden_in_the_percent_encoded_url_callout_built() -> None:
    secret = "a b/c?d#é"
    scope = Scope(trigger={}, steps={}, secrets={"p": secret}, run={"id": "wfr_1"})
    url = resolve_url("https://api.example.com/users/{{ secrets.p }}/tags", scope)
    assert Redactor([secret]).text(url) == f"https://api.example.com/users/{REDACTED}/tags"


def test_a_secret_with_a_quote_or_backslash_is_hidden_in_the_json_body_callout_serialised() -> None:
    secret = 'pa"ss\\wörd\n'
    body = json.dumps({"token": secret}, separators=(",", ":"), ensure_ascii=False)
    assert secret not in body  # escaped: a verbatim search misses it
    assert Redactor([secret]).text(body) == f'{{"token":"{REDACTED}"}}'


def test_a_secret_is_hidden_in_a_json_body_written_with_ascii_escapes() -> None:
    secret = "clé-😀"
    echoed = json.dumps({"seen": secret})  # how most servers write it back: \u00e9, \ud83d...
    assert "\\u00e9" in echoed
    assert Redactor([secret]).text(echoed) == f'{{"seen": "{REDACTED}"}}'


def test_a_secret_is_hidden_in_its_form_encoded_spelling() -> None:
    secret = "two words+more/="
    echoed = f"token={quote_plus(secret)}&next=1"
    assert Redactor([secret]).text(echoed) == f"token={REDACTED}&next=1"


def test_a_secret_made_of_host_characters_is_hidden_in_lower_case_too() -> None:
    assert Redactor(["Tenant-ABC"]).text("host: tenant-abc.example.com") == (
        f"host: {REDACTED}.example.com"
    )


def test_the_forms_of_a_secret_are_each_spelling_callout_writes() -> None:
    secret = 'a "b"+c/é'
    assert secret_forms(secret) == {
        secret,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    assert secret_forms("") == frozenset()


def test_a_lone_surrogate_secret_has_no_url_form_and_is_still_hidden_verbatim() -> None:
    secret = "x\ud800y"
    assert Redactor([secret]).text(f"<{secret}> <{json.dumps(secret)[1:-1]}>") == (
        f"<{REDACTED}> <{REDACTED}>"
    )


def test_a_value_without_any_secret_comes_back_as_is_without_a_copy() -> None:
    body = {"users": [{"name": "Ada", "tags": ["a", "b"]}], "n": 3}
    assert Redactor(["s3cr3t"]).value(body) is body


def test_a_deeply_nested_value_is_redacted_without_recursion() -> None:
    deep: Any = "s3cr3t"
    for _ in range(20_000):
        deep = {"a": [deep]}
    redacted = Redactor(["s3cr3t"]).value(deep)
    for _ in range(20_000):
        redacted = redacted["a"][0]
    assert redacted == REDACTED


def test_strings_across_batches_are_each_redacted_alone() -> None:
    secret = "s3cr3t-val"
    half = secret[:5], secret[5:]
    # Halves side by side must not join into the secret across the batch's separator.
    strings = [*half] * (BATCH_CHARACTERS // 4) + [f"x{secret}y", "\uffff" + secret]
    redacted = Redactor([secret]).value(strings)
    assert redacted[:4] == [*half, *half]
    assert redacted[-2:] == [f"x{REDACTED}y", "\uffff" + REDACTED]


def _naive(redactor: Redactor, value: Any) -> Any:
    """Redact each string alone: what `value` must equal, however it batches."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, list):
        return [_naive(redactor, item) for item in value]
    if isinstance(value, dict):
        return {redactor.text(k): _naive(redactor, v) for k, v in value.items()}
    return value


FEW = 'ab "\\%+\uffff\ue000'
"""Few characters, so secrets and strings meet often, the batch separators among them."""
texts = st.text(alphabet=FEW, max_size=12) | st.text(max_size=12)
secrets = st.lists(
    st.text(alphabet=FEW, min_size=1, max_size=4) | st.text(min_size=1, max_size=6),
    min_size=1,
    max_size=3,
)
json_values = st.recursive(
    st.none() | st.integers() | texts,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(texts, children),
    max_leaves=30,
)


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(values=secrets, value=json_values)
def test_redacting_a_json_value_equals_redacting_each_string_alone(
    values: list[str], value: Any
) -> None:
    redactor = Redactor(values)
    assert redactor.value(value) == _naive(redactor, value)
