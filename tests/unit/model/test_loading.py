import pytest

from callout.model.errors import DocumentError
from callout.model.loading import MAX_DOCUMENT_BYTES, parse_document


def problems_of(text: str) -> str:
    with pytest.raises(DocumentError) as caught:
        parse_document(text)
    return str(caught.value)


def test_yaml_keeps_no_on_yes_as_strings() -> None:
    assert parse_document("a: no\nb: on\nc: yes\nd: off\n") == {
        "a": "no",
        "b": "on",
        "c": "yes",
        "d": "off",
    }


def test_yaml_keeps_dates_as_strings() -> None:
    assert parse_document("born: 2024-01-01\nat: 2024-01-01T10:00:00Z\n") == {
        "born": "2024-01-01",
        "at": "2024-01-01T10:00:00Z",
    }


def test_yaml_reads_json_types() -> None:
    data = parse_document("i: 42\nf: 2.5\nt: true\nn: null\nt2: ~\nh: 0x1F\nl: [1, false]\n")
    assert data == {"i": 42, "f": 2.5, "t": True, "n": None, "t2": None, "h": 31, "l": [1, False]}


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", '{"a": 1, "a": 2}'])
def test_duplicate_keys_are_errors(text: str) -> None:
    assert 'duplicate key "a"' in problems_of(text)


@pytest.mark.parametrize(
    "text", ["a: .nan", "a: .inf", "a: -.Inf", '{"a": NaN}', '{"a": Infinity}']
)
def test_nan_and_infinities_are_errors(text: str) -> None:
    assert "NaN and infinities are refused" in problems_of(text)


def test_yaml_error_says_where() -> None:
    assert "line 2, column 5" in problems_of("a: 1\nb: x: y\n")


def test_yaml_aliases_are_refused() -> None:
    assert "aliases" in problems_of("x: &a [1, 2]\ny: *a\n")


@pytest.mark.parametrize("tag", ["!!binary aGk=", "!!timestamp 2020-01-01", "!!set {a}"])
def test_yaml_explicit_non_json_tags_are_refused(tag: str) -> None:
    assert "not allowed" in problems_of(f"a: {tag}\n")


def test_yaml_keys_must_be_strings() -> None:
    assert "keys must be strings" in problems_of("1: x\n")


def test_json_is_read_as_json() -> None:
    assert parse_document('{"a": [1, 2.5, "no"]}') == {"a": [1, 2.5, "no"]}


def test_oversized_document_is_refused() -> None:
    assert "larger than" in problems_of("a" * (MAX_DOCUMENT_BYTES + 1))


def test_non_utf8_bytes_are_refused() -> None:
    with pytest.raises(DocumentError, match="not UTF-8"):
        parse_document(b"\xff\xfe\x00a")


def test_yaml_nested_past_the_json_limit_is_refused_while_composing() -> None:
    # 1,000 levels: composing recursed until RecursionError before the limit.
    message = problems_of("a: " + "[" * 1000 + "]" * 1000 + "\n")
    assert "nested deeper than 64 levels of arrays and objects (line 1, column" in message
    block = "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 200))
    assert "nested deeper than 64 levels" in problems_of(block)
    assert parse_document("a: " + "[" * 63 + "]" * 63)["a"] is not None


def test_json_documents_are_read_by_the_one_json_reader_with_paths() -> None:
    assert problems_of('{"steps": [{"url": "\\ud800"}]}') == (
        "steps[0].url: holds a lone surrogate (\\ud800); text must be valid Unicode"
    )
    assert problems_of('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}").startswith("a[0][0]")
    assert problems_of('{"a": [1, {"b": 1, "b": 2}]}') == 'a[1].b: duplicate key "b"'
    assert problems_of("[1,]").startswith("document is not valid JSON: Expecting value")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('a: "\\ud800"\n', "a: holds a lone surrogate (\\ud800)"),
        ("a: 18446744073709551616\n", "a: integer out of range"),
        ("a: " + "9" * 5000 + "\n", "integer out of range (5000 characters)"),
        ("a: 1e400\n", "NaN and infinities are refused"),
    ],
)
def test_yaml_holds_the_json_rules(text: str, says: str) -> None:
    assert says in problems_of(text)
