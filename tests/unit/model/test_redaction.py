from callout.model.redaction import REDACTED, Redactor


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
