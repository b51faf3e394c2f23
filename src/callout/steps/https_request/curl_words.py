r"""Split a pasted shell command into words, as a POSIX shell would, without running anything.

What API docs paste: `\` line continuations (and `^` ones from Windows docs),
'single' quotes, "double" quotes with their four escapes, `$'...'` (the form
browsers' "Copy as cURL" uses), `#` comments, here-documents (`-d @- <<EOF`, as
Datadog's docs send a body), and unquoted operators (`|`, `&&`, `;`, `>`...)
returned as operator words so the reader can say what it did with them.
Nothing is expanded: `$VAR`, `${VAR}`, `$(command)` and backticks stay in the
word as written, so the import can keep them as text and point them out; an
unquoted `<PLACEHOLDER>` is text too, not a redirection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = ("<<<", "&&", "||", ">>", "&>", "<<", "|", ";", "&", ">", "<")
"""Unquoted control operators and redirections, longest first."""

BLANKS = frozenset(" \t\n\u00a0")
ANGLE_PLACEHOLDER = re.compile(r"<[A-Za-z_][^\s<>|&;'\"]*>")
"""`<ACCOUNT_ID>` unquoted: text, not a redirection (a shell would fail on it; docs mean text)."""
PLAIN_RUN = re.compile(r"[^\s\u00a0\\'\"$`|&;<>^]+")
"""Characters that mean nothing special to the shell, read as one run."""
"""Word separators. A no-break space (pasted from a web page) separates words too."""

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_UNICODE_ESCAPES = {"x": 2, "u": 4, "U": 8}


class CommandSyntaxError(ValueError):
    """The command cannot be split into words (an unclosed quote, say); the message says where."""


@dataclass(frozen=True, slots=True)
class ShellWord:
    """One word of the command, quotes removed; or an unquoted operator (`operator=True`)."""

    text: str
    operator: bool = False


@dataclass(frozen=True, slots=True)
class ShellCommand:
    """A command's words, and the text of its here-document (`<<EOF`), if it has one."""

    words: list[ShellWord]
    here_document: str | None = None


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


class _Splitter:
    """One pass over the text; `words` holds the result."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.words: list[ShellWord] = []
        self.buffer: list[str] = []
        self.in_word = False
        self.pending: tuple[str, bool] | None = None  # a here-document's delimiter, `<<-`
        self.here_document: str | None = None

    def finish_word(self) -> None:
        if self.in_word:
            self.words.append(ShellWord("".join(self.buffer)))
        self.buffer.clear()
        self.in_word = False

    def add(self, piece: str) -> None:
        self.buffer.append(piece)
        self.in_word = True

    def split(self) -> list[ShellWord]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            following = text[self.pos + 1 : self.pos + 2]
            if char in "\\^" and following == "\n":
                self.pos += 2  # a line continuation: the line goes on
            elif char == "\\":
                self.add(following)  # outside quotes a backslash keeps the next character
                self.pos += 2
            elif char == "\n" and self.pending is not None:
                self.finish_word()
                self.read_here_document()
            elif char in BLANKS:
                self.finish_word()
                self.pos += 1
            elif self.quoted(char, following):
                pass
            elif char == "#" and not self.in_word:
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline == -1 else newline
            elif char == "<" and (placeholder := ANGLE_PLACEHOLDER.match(text, self.pos)):
                self.add(placeholder.group(0))  # `<API_KEY>` written unquoted, as docs do
                self.pos = placeholder.end()
            elif char in "|&;<>":
                self.operator()
            else:
                plain = PLAIN_RUN.match(text, self.pos)
                end = plain.end() if plain else self.pos + 1
                self.add(text[self.pos : end])
                self.pos = end
        self.finish_word()
        return self.words

    def quoted(self, char: str, following: str) -> bool:
        """Read a quoted part or a substitution starting at `pos`; False when none starts."""
        if char == "'":
            self.single_quoted()
        elif char == '"':
            self.double_quoted()
        elif char == "$" and following == "'":
            self.ansi_c_quoted()
        elif char == "$" and following == "(":
            self.add(self.substitution())
        elif char == "`":
            self.add(self.backticks())
        else:
            return False
        return True

    def operator(self) -> None:
        # `2>` and `2>&1`: a file-descriptor number belongs to the redirection.
        if self.in_word and self.text[self.pos] in "<>" and "".join(self.buffer).isdigit():
            self.buffer.clear()
            self.in_word = False
        self.finish_word()
        for operator in OPERATORS:
            if self.text.startswith(operator, self.pos):
                self.pos += len(operator)
                if operator in {">", ">>"} and self.text.startswith("&", self.pos):
                    self.pos += 1  # `>&2`: the target follows as a word
                self.words.append(ShellWord(operator, operator=True))
                if operator == "<<":
                    self.here_document_delimiter()
                return

    def here_document_delimiter(self) -> None:
        """Read the delimiter after `<<` (or `<<-`); its text is read at the line's end."""
        text = self.text
        strip_tabs = text.startswith("-", self.pos)
        self.pos += strip_tabs
        while self.pos < len(text) and text[self.pos] in " \t":
            self.pos += 1
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in BLANKS | frozenset("|&;<>"):
            self.pos += 1
        delimiter = text[start : self.pos].replace("'", "").replace('"', "").replace("\\", "")
        if not delimiter:
            raise CommandSyntaxError(f"<< at {_where(text, start)} has no delimiter word")
        self.pending = (delimiter, strip_tabs)

    def read_here_document(self) -> None:
        """At the newline ending `<<EOF`'s line: read lines up to the delimiter line."""
        assert self.pending is not None  # noqa: S101 - called only when one is pending
        delimiter, strip_tabs = self.pending
        self.pending = None
        lines: list[str] = []
        position = self.pos + 1
        while position < len(self.text):
            end = self.text.find("\n", position)
            end = len(self.text) if end == -1 else end
            line = self.text[position:end]
            position = end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                break
            lines.append(line.lstrip("\t") if strip_tabs else line)
        self.here_document = "".join(line + "\n" for line in lines)
        self.pos = position

    def single_quoted(self) -> None:
        closing = self.text.find("'", self.pos + 1)
        if closing == -1:
            raise CommandSyntaxError(
                f"a ' quote opened at {_where(self.text, self.pos)} is never closed"
            )
        self.add(self.text[self.pos + 1 : closing])
        self.pos = closing + 1

    def double_quoted(self) -> None:
        opening = self.pos
        text = self.text
        self.pos += 1
        self.in_word = True
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return
            if char == "\\":
                following = text[self.pos + 1 : self.pos + 2]
                if following == "\n":
                    self.pos += 2
                    continue
                if following in {"$", "`", '"', "\\"}:
                    self.add(following)
                    self.pos += 2
                    continue
                self.add(char)
                self.pos += 1
            elif char == "$" and text.startswith("(", self.pos + 1):
                self.add(self.substitution())
            elif char == "`":
                self.add(self.backticks())
            else:
                self.add(char)
                self.pos += 1
        raise CommandSyntaxError(f'a " quote opened at {_where(text, opening)} is never closed')

    def ansi_c_quoted(self) -> None:
        opening = self.pos
        text = self.text
        self.pos += 2
        self.in_word = True
        while self.pos < len(text):
            char = text[self.pos]
            if char == "'":
                self.pos += 1
                return
            if char == "\\" and self.pos + 1 < len(text):
                self.add(self.ansi_c_escape())
            else:
                self.add(char)
                self.pos += 1
        raise CommandSyntaxError(f"a $' quote opened at {_where(text, opening)} is never closed")

    def ansi_c_escape(self) -> str:
        """Read one backslash escape of `$'...'` at `pos`; return what it stands for."""
        text = self.text
        letter = text[self.pos + 1]
        if letter in _SIMPLE_ESCAPES:
            self.pos += 2
            return _SIMPLE_ESCAPES[letter]
        if letter in _UNICODE_ESCAPES:
            start = self.pos + 2
            end = start
            while (
                end < min(len(text), start + _UNICODE_ESCAPES[letter]) and text[end] in _HEX_DIGITS
            ):
                end += 1
            if end == start:
                self.pos += 2
                return "\\" + letter
            code = int(text[start:end], 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise CommandSyntaxError(
                    f"the escape at {_where(text, self.pos)} is not a Unicode character"
                )
            self.pos = end
            return chr(code)
        if letter in "01234567":
            end = self.pos + 1
            while end < min(len(text), self.pos + 4) and text[end] in "01234567":
                end += 1
            code = int(text[self.pos + 1 : end], 8)
            self.pos = end
            return chr(code)
        if letter == "c" and self.pos + 2 < len(text):
            self.pos += 3
            return chr(ord(text[self.pos - 1]) & 0x1F)
        self.pos += 2
        return "\\" + letter

    def substitution(self) -> str:
        """Read `$(...)` at `pos` (nested parentheses and quotes inside); return it as written."""
        text = self.text
        opening = self.pos
        depth = 0
        position = self.pos + 1
        while position < len(text):
            char = text[position]
            if char in "'\"":
                closing = text.find(char, position + 1)
                position = len(text) if closing == -1 else closing + 1
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    self.pos = position + 1
                    return text[opening : self.pos]
            position += 1
        raise CommandSyntaxError(f"a $( opened at {_where(text, opening)} is never closed")

    def backticks(self) -> str:
        """Read a backtick command substitution at `pos`; return it as written."""
        closing = self.text.find("`", self.pos + 1)
        if closing == -1:
            raise CommandSyntaxError(f"a ` opened at {_where(self.text, self.pos)} is never closed")
        found = self.text[self.pos : closing + 1]
        self.pos = closing + 1
        return found


def split_command(command: str) -> ShellCommand:
    """Split `command` into words and operators; raise CommandSyntaxError when it cannot.

    Line endings are read as LF first, so a command copied on Windows splits the same.
    """
    text = command.replace("\r\n", "\n").replace("\r", "\n")
    splitter = _Splitter(text)
    words = splitter.split()
    return ShellCommand(words=words, here_document=splitter.here_document)
