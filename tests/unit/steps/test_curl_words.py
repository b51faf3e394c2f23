"""Splitting a pasted command into words as a shell would, without running anything."""

from __future__ import annotations

import pytest

from callout.steps.https_request.curl_words import CommandSyntaxError, ShellWord, split_command


def words(command: str) -> list[str]:
    return [word.text for word in split_command(command).words]


def test_quotes_are_removed_and_adjacent_parts_join_into_one_word() -> None:
    assert words("""curl 'a b' "c d" e'f'"g" 'Bearer '"$KEY"''""") == [
        "curl",
        "a b",
        "c d",
        "efg",
        "Bearer $KEY",
    ]


def test_double_quotes_take_only_their_four_escapes() -> None:
    assert words(r'''"\$HOME \"q\" \\ \n \a"''') == [r'$HOME "q" \ \n \a']


def test_a_backslash_outside_quotes_keeps_the_next_character() -> None:
    assert words(r"a\ b c\'d") == ["a b", "c'd"]


def test_ansi_c_quotes_read_their_escapes() -> None:
    assert words(r"""$'O\'Brien\u2019s\n\x41\101\t'""") == ["O'Brien\u2019s\nAA\t"]


def test_a_lone_surrogate_escape_is_refused() -> None:
    with pytest.raises(CommandSyntaxError, match="not a Unicode character"):
        split_command(r"$'\ud800'")


@pytest.mark.parametrize("ending", ["\\\n", "\\\r\n", "^\n", "^\r\n"])
def test_line_continuations_join_lines(ending: str) -> None:
    assert words(f"curl https://a.example.com {ending}  -s") == [
        "curl",
        "https://a.example.com",
        "-s",
    ]


def test_substitutions_and_variables_stay_as_written() -> None:
    assert words(
        '-H "Authorization: Bearer $(gcloud auth print-access-token)" $(a (b) c) `d e`'
    ) == [
        "-H",
        "Authorization: Bearer $(gcloud auth print-access-token)",
        "$(a (b) c)",
        "`d e`",
    ]


def test_comments_are_skipped_but_a_hash_inside_a_word_is_kept() -> None:
    assert words("# list things\ncurl https://a.example.com/#top # the end") == [
        "curl",
        "https://a.example.com/#top",
    ]


def test_operators_are_words_of_their_own_and_fd_numbers_belong_to_redirections() -> None:
    split = split_command("curl x 2>&1 | jq . && echo; a>b")
    assert split.words == [
        ShellWord("curl"),
        ShellWord("x"),
        ShellWord(">", operator=True),
        ShellWord("1"),
        ShellWord("|", operator=True),
        ShellWord("jq"),
        ShellWord("."),
        ShellWord("&&", operator=True),
        ShellWord("echo"),
        ShellWord(";", operator=True),
        ShellWord("a"),
        ShellWord(">", operator=True),
        ShellWord("b"),
    ]


def test_a_here_document_is_read_up_to_its_delimiter() -> None:
    split = split_command("curl -d @- <<'EOF'\n{\"a\": 1}\n  x\nEOF\n")
    assert [word.text for word in split.words] == ["curl", "-d", "@-", "<<"]
    assert split.here_document == '{"a": 1}\n  x\n'


def test_a_here_document_with_a_dash_drops_leading_tabs() -> None:
    split = split_command("cat <<-END\n\tone\n\tEND\n")
    assert split.here_document == "one\n"


def test_a_no_break_space_separates_words() -> None:
    assert words("curl\u00a0-s") == ["curl", "-s"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("'abc", "a ' quote opened at line 1, column 1 is never closed"),
        ('a\n  "abc', 'a " quote opened at line 2, column 3 is never closed'),
        ("$'abc", "a $' quote opened at line 1, column 1 is never closed"),
        ("$(abc", "a $( opened at line 1, column 1 is never closed"),
        ("`abc", "a ` opened at line 1, column 1 is never closed"),
        ("cat <<", "<< at line 1, column 7 has no delimiter word"),
    ],
)
def test_an_unclosed_quote_is_refused_saying_where(command: str, message: str) -> None:
    with pytest.raises(CommandSyntaxError) as caught:
        split_command(command)
    assert str(caught.value) == message


def test_an_unquoted_angle_placeholder_is_text_not_a_redirection() -> None:
    assert words("curl https://a.example.com/users/<USER_ID>/x -u <API_KEY>: < in.txt") == [
        "curl",
        "https://a.example.com/users/<USER_ID>/x",
        "-u",
        "<API_KEY>:",
        "<",
        "in.txt",
    ]
