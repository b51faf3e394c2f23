"""Turn a pasted curl command into a Make HTTPS Request step (pure: no I/O).

`import_curl(command)` returns the step (as the workflow document holds it),
the secrets to store (name and where each value was: never the value) and
notes for the user; or raises CurlImportError listing every problem. The
pieces: `curl_words.py` splits the shell text, `curl_options.py` reads curl's
options, `curl_body.py` decides the body, `curl_auth.py` the authentication,
`curl_secrets.py` finds credentials, `curl_review.py` takes the last look.
docs/curl-import.md says what becomes what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from callout.model.errors import CalloutError, Problem
from callout.signing import DEFAULT_SIGNATURE_HEADER
from callout.steps.https_request.config import (
    ENGINE_HEADERS,
    FRAMING_HEADERS,
    MAX_TIMEOUT,
    METHODS,
    MIN_TIMEOUT,
    TOKEN,
)
from callout.steps.https_request.curl_auth import AuthReader
from callout.steps.https_request.curl_body import (
    BodyPlan,
    body_with_references,
    data_pairs,
    form_pairs,
    plan_body,
)
from callout.steps.https_request.curl_options import CurlCommand, read_curl_words
from callout.steps.https_request.curl_review import fix_template_text, placeholder_note, scrub
from callout.steps.https_request.curl_secrets import (
    SecretBook,
    SecretToStore,
    TooManyCredentials,
    holds_secret_reference,
    is_credential_name,
    is_secret_reference,
    looks_like_token,
    service_name,
    shown_place,
    snake_name,
)
from callout.steps.https_request.curl_words import CommandSyntaxError, split_command

__all__ = ["MAX_COMMAND_CHARS", "CurlImport", "CurlImportError", "SecretToStore", "import_curl"]

MAX_COMMAND_CHARS = 1_200_000
"""The longest command read: a 1 MiB body (the step's limit) and the rest of the command."""

STEP_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
DROPPED_HEADERS = {
    "accept-encoding": "callout asks for the encodings it can decode",
    "expect": "callout sends the body at once",
}
SCHEME_PREFIX = re.compile(r"(?i)(bearer|token|basic)\s+(\S.*)")


class CurlImportError(CalloutError):
    """A curl command that cannot be imported; `problems` lists every fault (path `command`)."""

    def __init__(self, messages: list[str]) -> None:
        unique = dict.fromkeys(messages)  # -F given five times is one problem
        self.problems = tuple(Problem("command", message) for message in unique)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True, slots=True)
class CurlImport:
    """An imported step, the secrets it references (to store), and notes for the user."""

    step: dict[str, Any]
    secrets: tuple[SecretToStore, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return `{step, secrets: [{name, found_in}], notes}`."""
        return {
            "step": self.step,
            "secrets": [secret.to_json() for secret in self.secrets],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class _Url:
    """A URL taken apart: without its query, the query's pairs, and any user:password@."""

    base: str
    host: str
    path: str
    query: list[tuple[str, str]]
    userinfo: str | None


def _shown(text: str) -> str:
    """Return `text` for a message when it is a plain short word; else a stand-in."""
    if re.fullmatch(r"[A-Za-z0-9_.#:-]{1,40}", text) and not looks_like_token(text):
        return text
    return "(not shown)"


def split_url(raw: str, notes: list[str], problems: list[str]) -> _Url | None:
    """Take the URL apart; a problem (None) when it is not an http(s) URL with a host."""
    text = raw.strip()
    if not text:
        problems.append("the URL is empty")
        return None
    if "://" not in text:
        text = "https://" + text
        notes.append("the URL has no scheme: it is read as https:// (curl would use http://)")
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme not in {"https", "http"}:
        problems.append(f"the URL's scheme {_shown(scheme)}:// is not one callout sends (https)")
        return None
    if scheme == "http":
        notes.append(
            "the URL is http://: callout sends https:// only, unless the operator allows plain "
            "HTTP (CALLOUT_ALLOW_HTTP=1)"
        )
    rest = rest.partition("#")[0]  # a fragment never leaves curl either
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        host = hostport[1 : hostport.find("]")] if "]" in hostport else ""
    else:
        host = hostport.rsplit(":", 1)[0] if ":" in hostport else hostport
    if not host:
        problems.append("the URL has no host name")
        return None
    return _Url(
        base=f"{scheme}://{hostport}{slash}{path}",
        host=host,
        path=slash + path,
        query=form_pairs(query, lenient=True) or [],
        userinfo=userinfo if at else None,
    )


def _read_header(text: str, number: int, problems: list[str]) -> tuple[str, str | None] | None:
    """Read `Name: value` (`Name;` is an empty value, `Name:` curl's removal: None)."""
    name, colon, value = text.partition(":")
    if not colon:
        stripped = text.strip()
        if not stripped.endswith(";"):
            problems.append(f"header {number} (-H) has no ':': write it as -H 'Name: value'")
            return None
        name, value = stripped[:-1], ""
    elif not value.strip():
        return name.strip(), None
    name = name.strip()
    if not TOKEN.fullmatch(name):
        problems.append(
            f"header {number} (-H) has an invalid name: letters, digits and "
            "!#$%&'*+-.^_`|~ only, then ':'"
        )
        return None
    return name, value.strip()


def _dropped_header(lower: str) -> str | None:
    """Return why a header (lower-case name) is left out of the step, or None to keep it."""
    if lower in FRAMING_HEADERS:
        return "callout sets it from the request"
    if lower in ENGINE_HEADERS or lower == DEFAULT_SIGNATURE_HEADER.lower():
        return "callout sets it on every attempt (the same Idempotency-Key on each retry of a step)"
    return DROPPED_HEADERS.get(lower)


class _Builder:
    """Builds one step from a read command; collects problems and notes as it goes."""

    def __init__(self, command: CurlCommand) -> None:
        self.command = command
        self.problems: list[str] = list(command.problems)
        self.notes: list[str] = list(command.notes)
        self.book = SecretBook("api")
        self.headers: list[tuple[str, str]] = []
        self.content_type: str | None = None
        self.authorization: str | None = None
        self.auth: dict[str, str] | None = None

    # headers -----------------------------------------------------------------

    def read_headers(self) -> None:
        merged: dict[str, int] = {}
        for number, text in enumerate(self.command.headers, start=1):
            read = _read_header(text, number, self.problems)
            if read is None:
                continue
            name, value = read
            lower = name.lower()
            shown = shown_place(name)
            if value is None:
                self.notes.append(f"-H '{shown}:' (curl's way to remove a header) is ignored")
            elif (why := _dropped_header(lower)) is not None:
                self.notes.append(f"header {shown} is dropped: {why}")
            elif lower == "content-type":
                self.content_type = value
            elif lower == "authorization":
                if self.authorization is not None:
                    self.problems.append("the command sends two Authorization headers; keep one")
                self.authorization = value
            elif lower in merged:
                index = merged[lower]
                joiner = "; " if lower == "cookie" else ", "
                first, earlier = self.headers[index]
                self.headers[index] = (first, earlier + joiner + value)
                self.notes.append(f"header {shown} is given more than once: its values are joined")
            else:
                merged[lower] = len(self.headers)
                self.headers.append((name, value))

    def header_with_references(self, name: str, value: str) -> str:
        if not value or holds_secret_reference(value):
            return value  # written with a reference already (or by read_authorization)
        found_in = f"header {name}"
        if name.lower() == "cookie":
            return self.book.reference(value, base="cookie", found_in=found_in)
        if is_credential_name(name, where="header"):
            prefixed = SCHEME_PREFIX.fullmatch(value)
            if prefixed is not None:
                scheme, credential = prefixed.groups()
                return f"{scheme} " + self.book.reference(credential, base=name, found_in=found_in)
            return self.book.reference(value, base=name, found_in=found_in)
        return self.book.substitute_shapes(value, base="token", found_in=found_in)

    def read_auth(self, url: _Url) -> None:
        command = self.command
        sources = [
            ("-u", command.user is not None),
            ("--oauth2-bearer", command.bearer is not None),
            ("an Authorization header", self.authorization is not None),
        ]
        given = [name for name, present in sources if present]
        if len(given) > 1:
            self.problems.append(
                f"the command authenticates twice ({' and '.join(given)}); keep one"
            )
            return
        reader = AuthReader(self.book, self.notes)
        if url.userinfo is not None:
            if given:
                self.notes.append(f"the URL's user:password@ is dropped: {given[0]} is used")
            else:
                user, colon, password = url.userinfo.partition(":")
                self.auth = reader.basic(
                    unquote(user), unquote(password) if colon else None, "the URL's"
                )
        if command.user is not None:
            user, colon, password = command.user.partition(":")
            self.auth = reader.basic(user, password if colon else None, "-u")
        elif command.bearer is not None:
            self.auth = reader.bearer(command.bearer, "--oauth2-bearer")
        elif self.authorization is not None:
            self.auth, header = reader.authorization(self.authorization)
            if header is not None:
                self.headers.append(("Authorization", header))

    # URL and query -----------------------------------------------------------

    def url_with_references(self, url: _Url) -> str:
        """Return the URL without its query; a credential in its path becomes a reference."""
        segments = url.path.split("/")
        slack = url.host.lower() == "hooks.slack.com"
        for index, segment in enumerate(segments):
            if not segment or "{{" in segment:
                continue
            if looks_like_token(segment):
                segments[index] = self.book.substitute_shapes(
                    segment, base="token", found_in="URL path"
                )
            elif (index >= 2 and segments[index - 2].lower() == "webhooks") or (
                slack and index == len(segments) - 1 and "services" in segments
            ):
                segments[index] = self.book.reference(
                    segment, base="webhook_token", found_in="URL path"
                )
            elif url.host.lower() == "api.telegram.org" and segment.startswith("bot"):
                reference = self.book.reference(segment[3:], base="bot_token", found_in="URL path")
                segments[index] = "bot" + reference
        return url.base[: len(url.base) - len(url.path)] + "/".join(segments)

    def query_with_references(self, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
        query: list[dict[str, str]] = []
        for key, written in pairs:
            found_in = f"query parameter {key}"
            value = written
            if not written or is_secret_reference(written):
                pass
            elif is_credential_name(key, where="query"):
                base = "api_key" if key.lower() == "key" else key
                value = self.book.reference(written, base=base, found_in=found_in)
            else:
                value = self.book.substitute_shapes(written, base="token", found_in=found_in)
            query.append({"key": key, "value": value})
        return query

    def url_query_pairs(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for text in self.command.url_queries:
            if text.startswith("+"):  # `+name=value`: curl sends it as written
                pairs.extend(form_pairs(text[1:], lenient=True) or [])
            else:
                name, _, value = text.partition("=")
                pairs.append((name, value))
        return pairs

    # method, body, the rest --------------------------------------------------

    def method(self, has_body: bool) -> str:
        written = self.command.method
        if written is None:
            return "POST" if has_body else "GET"
        method = written.upper()
        if method == "HEAD":
            self.problems.append(
                "-X HEAD is not supported: callout sends DELETE, GET, PATCH, POST or PUT"
            )
        elif method not in METHODS:
            self.problems.append(
                f"-X {_shown(written)} is not a method callout sends "
                "(DELETE, GET, PATCH, POST or PUT)"
            )
        elif has_body and method in {"GET", "DELETE"}:
            self.problems.append(
                f"the command sends data with -X {method}, but callout sends no body with GET "
                "or DELETE: add -G to send the data as query parameters, or use POST"
            )
        return method

    def timeout(self) -> float | None:
        written = self.command.max_time
        if written is None:
            return None
        try:
            seconds = float(written)
        except ValueError:
            self.notes.append("-m/--max-time is not a number of seconds: ignored")
            return None
        if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
            self.notes.append(
                f"-m/--max-time is outside callout's {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} seconds: "
                "the step keeps the default timeout"
            )
            return None
        return seconds

    def body(self) -> tuple[BodyPlan | None, list[tuple[str, str]]]:
        """Return the body plan, and the pairs -G moves into the query."""
        command = self.command
        if command.get:
            if command.json:
                self.problems.append("-G with --json: --json data cannot go into the URL")
                return None, []
            return None, data_pairs(command.data, lenient=True) or []
        if command.json and command.data:
            self.problems.append("the command mixes --json with -d/--data; keep one")
            return None, []
        plan = plan_body(
            data=command.data,
            json_parts=command.json,
            content_type=self.content_type,
            notes=self.notes,
        )
        if command.json and not any(name.lower() == "accept" for name, _ in self.headers):
            self.headers.append(("Accept", "application/json"))  # as curl's --json sends
        return plan, []

    def build(self, step_id: str | None) -> CurlImport:
        command = self.command
        if command.url is None and command.is_curl:
            self.problems.append("the command names no URL")
        url = split_url(command.url, self.notes, self.problems) if command.url else None
        if url is None:
            raise CurlImportError(self.problems)
        self.book = SecretBook(service_name(url.host))
        self.read_headers()
        self.read_auth(url)
        plan, get_pairs = self.body()
        method = self.method(plan is not None)
        if self.problems:
            raise CurlImportError(self.problems)

        step: dict[str, Any] = {
            "id": "",
            "action": "make_https_request",
            "url": self.url_with_references(url),
            "method": method,
        }
        query = self.query_with_references(url.query + self.url_query_pairs() + get_pairs)
        if query:
            step["query"] = query
        self.add_headers_and_body(step, plan)
        if self.auth is not None:
            step["auth"] = self.auth
        self.extras(step)
        step = scrub(step, self.book.values())
        step["id"] = step_id or default_step_id(self.book.service, step["url"])
        fix_template_text(step, self.notes)
        if (note := placeholder_note(step)) is not None:
            self.notes.append(note)
        return CurlImport(step=step, secrets=self.book.secrets(), notes=tuple(self.notes))

    def add_headers_and_body(self, step: dict[str, Any], plan: BodyPlan | None) -> None:
        """Add `headers`, and `body_type`, `body` and `content_type` (each only when set)."""
        keeps = plan.keeps_content_type_header if plan is not None else True
        if keeps and self.content_type is not None:
            self.headers.append(("Content-Type", self.content_type))
        headers = [
            {"key": name, "value": self.header_with_references(name, value)}
            for name, value in self.headers
        ]
        if headers:
            step["headers"] = headers
        if plan is not None:
            if plan.body_type is not None:
                step["body_type"] = plan.body_type
            step["body"] = body_with_references(plan, self.book)
            if plan.content_type is not None:
                step["content_type"] = plan.content_type

    def extras(self, step: dict[str, Any]) -> None:
        """Client certificate, redirects, timeout, and the notes of -k and client credentials."""
        if self.command.certificate:
            step["client_certificate"] = self.book.without_value(
                base="client_certificate",
                found_in="--cert (store the PEM of the certificate and its private key)",
            )
        if self.command.follow_redirects:
            step["follow_redirects"] = True
        if (seconds := self.timeout()) is not None:
            step["timeout"] = int(seconds) if seconds.is_integer() else seconds
        if self.command.insecure:
            self.notes.append(
                "-k/--insecure is ignored: callout always verifies TLS certificates (an "
                "operator can trust another CA with CALLOUT_CA_BUNDLE)"
            )
        if _grant_type(step) == "client_credentials":
            self.notes.append(
                "this is an OAuth2 client-credentials token request: to call the API with such "
                "a token, a step can use auth: {type: oauth2_client_credentials, token_url: ...} "
                "instead, and callout fetches and caches the token"
            )


def _grant_type(step: dict[str, Any]) -> Any:
    """Return the body's `grant_type` (JSON or form), or None."""
    body = step.get("body")
    if isinstance(body, dict):
        return body.get("grant_type")
    if step.get("body_type") == "form":
        return next((pair["value"] for pair in body or () if pair["key"] == "grant_type"), None)
    return None


def default_step_id(service: str, url: str) -> str:
    """Return an id from the service and the URL's last plain path segment (`stripe_charges`)."""
    path = url.partition("://")[2].partition("/")[2]
    words = ""
    for segment in reversed(path.split("/")):
        if not segment or any(mark in segment for mark in "{}$<>%`"):
            continue
        stem = re.sub(r"\.(json|xml)$", "", segment, flags=re.IGNORECASE)
        if stem.isdigit() or looks_like_token(stem) or len(stem) > 40:
            continue
        words = snake_name(stem)
        if words:
            break
    step_id = words if words.startswith(service) else f"{service}_{words}".rstrip("_")
    step_id = re.sub(r"[^a-z0-9_]", "", step_id.lower())
    if not step_id or not step_id[0].isalpha():
        step_id = f"request_{step_id}".rstrip("_")
    return step_id[:64].rstrip("_")


def import_curl(command: str, *, step_id: str | None = None) -> CurlImport:
    """Read a curl command; return the step, the secrets to store and notes.

    Raises CurlImportError listing every problem; no message holds a credential.
    """
    if len(command) > MAX_COMMAND_CHARS:
        raise CurlImportError([f"the command is longer than {MAX_COMMAND_CHARS} characters"])
    if step_id is not None and not STEP_ID.fullmatch(step_id):
        raise CurlImportError(["the step id must be a-z, then a-z, 0-9 or _ (up to 64 characters)"])
    if not command.strip():
        raise CurlImportError(["the command is empty: paste a curl command"])
    try:
        shell = split_command(command)
    except CommandSyntaxError as exc:
        raise CurlImportError([f"the command cannot be read: {exc}"]) from None
    read, unknown = read_curl_words(shell)
    problems = [
        f"{_shown(flag)} is not an option the import knows: remove it, or import without it"
        for flag in unknown
    ]
    if problems:
        raise CurlImportError(problems + read.problems)
    try:
        return _Builder(read).build(step_id)
    except TooManyCredentials as exc:
        raise CurlImportError([str(exc)]) from None
