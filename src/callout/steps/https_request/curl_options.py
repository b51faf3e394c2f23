"""Read curl's options from a command's words: what the command asks for, as curl reads it.

Each option curl documents is read (`-X`, `--request`), refused with the reason
(`-F`: multipart bodies), or ignored because it changes nothing callout sends
(`-s`, `-v`, `-o FILE`). An option not known here is refused by name: guessing
whether it takes a value would misread the rest of the command. Every refusal
is collected, so a command with three problems lists three.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from callout.steps.https_request.curl_words import ShellCommand, ShellWord

DataKind = Literal["data", "urlencode"]

ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
"""`TOKEN=abc curl ...`: an environment assignment before the command."""


@dataclass(frozen=True, slots=True)
class DataPart:
    """One `-d`-like option's value; `urlencode` ones are `name=content` to encode."""

    flag: str
    kind: DataKind
    text: str


@dataclass
class CurlCommand:
    """What a curl command asks for, before it is turned into a step."""

    url: str | None = None
    method: str | None = None
    headers: list[str] = field(default_factory=list)
    data: list[DataPart] = field(default_factory=list)
    json: list[str] = field(default_factory=list)
    url_queries: list[str] = field(default_factory=list)
    get: bool = False
    user: str | None = None
    bearer: str | None = None
    follow_redirects: bool = False
    insecure: bool = False
    max_time: str | None = None
    certificate: bool = False
    is_curl: bool = True
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


REFUSED = {
    "form": "sends a multipart/form-data body, which callout does not send "
    "(it sends JSON, form (x-www-form-urlencoded) or raw bodies)",
    "form-string": "sends a multipart/form-data body, which callout does not send "
    "(it sends JSON, form (x-www-form-urlencoded) or raw bodies)",
    "upload-file": "uploads a file; the import cannot read files: paste the data with --data",
    "head": "sends a HEAD request; callout sends DELETE, GET, PATCH, POST or PUT",
    "proxy": "sends through a proxy; callout connects directly, through its address guard",
    "digest": "uses HTTP Digest authentication, which callout does not do (basic, bearer, "
    "OAuth2 client credentials)",
    "ntlm": "uses NTLM authentication, which callout does not do",
    "negotiate": "uses SPNEGO authentication, which callout does not do",
    "aws-sigv4": "signs with AWS Signature V4, which callout does not do",
    "unix-socket": "connects to a Unix socket; callout sends HTTPS requests",
    "abstract-unix-socket": "connects to a Unix socket; callout sends HTTPS requests",
    "resolve": "overrides DNS; callout resolves every name through its address guard",
    "connect-to": "overrides the address connected to; callout connects through its address guard",
    "config": "reads options from a file; the import cannot read files: paste the options",
    "next": "starts a second request; import one request at a time",
    "parallel": "sends several requests; import one request at a time",
    "request-target": "changes the request target; callout sends the URL's path",
}
"""Options refused, each with why (the message names the option as written)."""

REFUSED_WITH_VALUE = frozenset(
    {
        "form",
        "form-string",
        "upload-file",
        "proxy",
        "aws-sigv4",
        "unix-socket",
        "abstract-unix-socket",
        "resolve",
        "connect-to",
        "config",
        "request-target",
    }
)
"""Refused options that take a value (skipped with them, so it is not read as the URL)."""

IGNORED_FLAGS = frozenset(
    {
        "silent",
        "show-error",
        "verbose",
        "include",
        "compressed",
        "fail",
        "fail-with-body",
        "globoff",
        "progress-bar",
        "no-progress-meter",
        "no-buffer",
        "no-keepalive",
        "no-sessionid",
        "http1.0",
        "http1.1",
        "http2",
        "http2-prior-knowledge",
        "http3",
        "tlsv1",
        "tlsv1.2",
        "tlsv1.3",
        "ssl-reqd",
        "basic",
        "ipv4",
        "ipv6",
        "remote-name",
        "remote-header-name",
        "create-dirs",
        "styled-output",
        "no-styled-output",
        "disable",
        "raw",
        "tr-encoding",
        "path-as-is",
        "anyauth",
    }
)
"""Options that change only what curl shows or how it talks, not what callout would send."""

IGNORED_WITH_VALUE = frozenset(
    {
        "output",
        "write-out",
        "dump-header",
        "connect-timeout",
        "max-redirs",
        "retry",
        "retry-delay",
        "retry-max-time",
        "trace",
        "trace-ascii",
        "stderr",
        "limit-rate",
        "keepalive-time",
        "expect100-timeout",
        "cert-type",
        "key-type",
        "key",
        "pass",
        "interface",
        "ciphers",
        "max-filesize",
        "speed-limit",
        "speed-time",
    }
)
"""Options with a value that likewise change nothing callout would send."""

SHORT = {
    "X": "request",
    "H": "header",
    "d": "data",
    "G": "get",
    "u": "user",
    "L": "location",
    "k": "insecure",
    "m": "max-time",
    "A": "user-agent",
    "e": "referer",
    "b": "cookie",
    "E": "cert",
    "F": "form",
    "T": "upload-file",
    "I": "head",
    "x": "proxy",
    "K": "config",
    "Z": "parallel",
    ":": "next",
    "s": "silent",
    "S": "show-error",
    "v": "verbose",
    "i": "include",
    "f": "fail",
    "g": "globoff",
    "#": "progress-bar",
    "N": "no-buffer",
    "0": "http1.0",
    "1": "tlsv1",
    "4": "ipv4",
    "6": "ipv6",
    "O": "remote-name",
    "J": "remote-header-name",
    "q": "disable",
    "o": "output",
    "w": "write-out",
    "D": "dump-header",
}
"""curl's one-letter options and their long names."""


class _Reader:
    """Apply each option to a CurlCommand; `takes_value` says which options read a value."""

    def __init__(self, stdin: str | None) -> None:
        self.stdin = stdin
        self.command = CurlCommand()
        self.actions: dict[str, Callable[[str, str], None]] = {
            "request": self.request,
            "header": self.header,
            "data": self.data,
            "data-ascii": self.data,
            "data-binary": self.data,
            "data-raw": self.data_raw,
            "data-urlencode": self.data_urlencode,
            "json": self.json,
            "url": self.url,
            "user": self.user,
            "oauth2-bearer": self.oauth2_bearer,
            "user-agent": self.user_agent,
            "referer": self.referer,
            "cookie": self.cookie,
            "max-time": self.max_time,
            "url-query": self.url_query,
            "cert": self.cert,
            "cacert": self.ca_file,
            "capath": self.ca_file,
        }
        self.flags: dict[str, Callable[[str], None]] = {
            "get": self.get,
            "location": self.location,
            "location-trusted": self.location_trusted,
            "insecure": self.insecure,
        }

    def takes_value(self, name: str) -> bool:
        return name in self.actions or name in IGNORED_WITH_VALUE or name in REFUSED_WITH_VALUE

    def known(self, name: str) -> bool:
        return (
            self.takes_value(name) or name in self.flags or name in IGNORED_FLAGS or name in REFUSED
        )

    def apply(self, name: str, written: str, value: str | None) -> None:
        if name in REFUSED:
            self.command.problems.append(f"{written} is not supported: it {REFUSED[name]}")
        elif value is not None and name in self.actions:
            self.actions[name](written, value)
        elif name in self.flags:
            self.flags[name](written)

    def request(self, written: str, value: str) -> None:
        self.command.method = value

    def header(self, written: str, value: str) -> None:
        if value.startswith("@"):
            self.command.problems.append(
                f"{written} @FILE reads headers from a file; the import cannot read files: "
                f'paste each header as {written} "Name: value"'
            )
            return
        self.command.headers.append(value)

    def _from_file(self, written: str, value: str) -> str | None:
        """Return the data: `@-` reads the here-document; another `@...` is refused (None)."""
        if value == "@-" and self.stdin is not None:
            return self.stdin
        if value.startswith("@"):
            self.command.problems.append(
                f"{written} @FILE reads the data from a file (or standard input); the import "
                "cannot read files: paste the data itself"
            )
            return None
        return value

    def data(self, written: str, value: str) -> None:
        data = self._from_file(written, value)
        if data is not None:
            if value == "@-" and written != "--data-binary":
                data = data.replace("\r", "").replace("\n", "")  # as curl reads -d @file
            self.command.data.append(DataPart(written, "data", data))

    def data_raw(self, written: str, value: str) -> None:
        self.command.data.append(DataPart(written, "data", value))

    def data_urlencode(self, written: str, value: str) -> None:
        if "=" not in value:
            why = (
                "reads a file"
                if "@" in value
                else "sends the encoded text without a name, which is not a form field"
            )
            self.command.problems.append(
                f"{written} without a name= {why}: write it as {written} 'name=value'"
            )
            return
        self.command.data.append(DataPart(written, "urlencode", value))

    def json(self, written: str, value: str) -> None:
        data = self._from_file(written, value)
        if data is not None:
            self.command.json.append(data)

    def url(self, written: str, value: str) -> None:
        self.add_url(value)

    def add_url(self, value: str) -> None:
        if self.command.url is not None:
            self.command.problems.append(
                "the command names more than one URL; import one request at a time"
            )
            return
        self.command.url = value

    def user(self, written: str, value: str) -> None:
        self.command.user = value

    def oauth2_bearer(self, written: str, value: str) -> None:
        self.command.bearer = value

    def user_agent(self, written: str, value: str) -> None:
        self.command.headers.append(f"User-Agent: {value}")

    def referer(self, written: str, value: str) -> None:
        self.command.headers.append(f"Referer: {value}")

    def cookie(self, written: str, value: str) -> None:
        if "=" not in value:
            self.command.problems.append(
                f"{written} FILE reads cookies from a file; the import cannot read files: "
                f"give them as {written} 'name=value; name2=value2'"
            )
            return
        self.command.headers.append(f"Cookie: {value}")

    def max_time(self, written: str, value: str) -> None:
        self.command.max_time = value

    def url_query(self, written: str, value: str) -> None:
        if "=" not in value.lstrip("+"):
            self.command.problems.append(
                f"{written} without a name= is not a query parameter: write it as "
                f"{written} 'name=value'"
            )
            return
        self.command.url_queries.append(value)

    def cert(self, written: str, value: str) -> None:
        self.command.certificate = True

    def ca_file(self, written: str, value: str) -> None:
        self.command.notes.append(
            f"{written} is ignored: callout trusts the system's CAs, plus those in the "
            "operator's CALLOUT_CA_BUNDLE"
        )

    def get(self, written: str) -> None:
        self.command.get = True

    def location(self, written: str) -> None:
        self.command.follow_redirects = True

    def location_trusted(self, written: str) -> None:
        self.command.follow_redirects = True
        self.command.notes.append(
            f"{written} follows redirects, but callout never sends credentials to another "
            "origin: a hop that leaves the URL's origin drops Authorization and Cookie"
        )

    def insecure(self, written: str) -> None:
        self.command.insecure = True


def _is_curl(word: str) -> bool:
    return word.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower() in {"curl", "curl.exe"}


def _skip_prefix(words: list[ShellWord], command: CurlCommand) -> int:
    """Return the index of the first argument after `$ `, `VAR=value` and the `curl` word."""
    index = 0
    if index < len(words) and words[index].text == "$" and not words[index].operator:
        index += 1  # a prompt pasted along with the command
    assigned = False
    while index < len(words) and ENV_ASSIGNMENT.match(words[index].text):
        assigned = True
        index += 1
    if assigned:
        command.notes.append("environment assignments before curl are ignored")
    if index < len(words) and not words[index].operator and _is_curl(words[index].text):
        return index + 1
    if index < len(words):
        first = words[index]
        if not first.operator and (first.text.startswith("-") or "://" in first.text):
            return index  # the options or URL alone, without the word curl
    command.problems.append("this is not a curl command: it must start with curl")
    command.is_curl = False
    return len(words)


def _operator(words: list[ShellWord], index: int, command: CurlCommand) -> int:
    """Handle an operator at `index`; return the index to go on from (len(words): stop)."""
    operator = words[index].text
    rest = words[index + 1 :]
    if operator == "<<":
        return index + 1  # the here-document was read with the words
    if operator in {">", ">>", "&>", "<", "<<<"}:
        return index + 2  # a redirection and its file, or a here-string (read before)
    if operator == "|":
        program = rest[0].text if rest and not rest[0].operator else "another program"
        command.notes.append(f"the pipe into {program} is ignored (it reads curl's output)")
        return len(words)
    if operator == "&" and not rest:
        return len(words)
    if rest:
        command.problems.append(
            f"the text holds more than one command (after {operator}); import one curl "
            "command at a time"
        )
    return len(words)


def _short_cluster(reader: _Reader, words: list[ShellWord], index: int, unknown: list[str]) -> int:
    """Read `-sSL`, `-XPOST`, `-H 'A: b'` at `index`; return the index after what was read."""
    word = words[index].text
    position = 1
    while position < len(word):
        letter = word[position]
        written = f"-{letter}"
        name = SHORT.get(letter)
        if name is None:
            unknown.append(written)
            return index + 1
        if reader.takes_value(name):
            attached = word[position + 1 :]
            if attached:
                reader.apply(name, written, attached)
                return index + 1
            if index + 1 >= len(words) or words[index + 1].operator:
                reader.command.problems.append(f"{written} needs a value after it")
                return index + 1
            reader.apply(name, written, words[index + 1].text)
            return index + 2
        reader.apply(name, written, None)
        position += 1
    return index + 1


def _here_string(words: list[ShellWord]) -> str | None:
    """Return the text of a `<<< 'text'` here-string, or None."""
    for index, word in enumerate(words[:-1]):
        if word.operator and word.text == "<<<" and not words[index + 1].operator:
            return words[index + 1].text + "\n"
    return None


def read_curl_words(shell: ShellCommand) -> tuple[CurlCommand, list[str]]:
    """Read a command's words; return what it asks for and the unknown options met.

    Refused options and other faults are in `CurlCommand.problems`. `@-` data reads
    the command's here-document or here-string.
    """
    words = shell.words
    here = shell.here_document if shell.here_document is not None else _here_string(words)
    reader = _Reader(here)
    command = reader.command
    unknown: list[str] = []
    index = _skip_prefix(words, command)
    while index < len(words):
        word = words[index]
        text = word.text
        if word.operator:
            index = _operator(words, index, command)
        elif text.startswith("--") and len(text) > 2:
            name = text[2:]
            if not reader.known(name):
                unknown.append(text)
                index += 1
            elif reader.takes_value(name):
                if index + 1 >= len(words) or words[index + 1].operator:
                    command.problems.append(f"{text} needs a value after it")
                    index += 1
                else:
                    reader.apply(name, text, words[index + 1].text)
                    index += 2
            else:
                reader.apply(name, text, None)
                index += 1
        elif text.startswith("-") and len(text) > 1:
            index = _short_cluster(reader, words, index, unknown)
        else:
            reader.add_url(text)
            index += 1
    return command, unknown
