"""Find the credentials in a pasted curl command, and name the secrets that will hold them.

A credential never goes into the imported step: its place takes a
`{{ secrets.<name> }}` reference, and the import lists the secret to store (its
name and where the value was), never the value. What counts as a credential:
- by where it is: an Authorization or Cookie header, `-u`, a header, query
  parameter or body field whose name says key, token, secret, password, auth,
  session or cookie (`X-API-Key`, `access_token`, `client_secret`);
- by its shape, wherever it is: well-known token prefixes (`sk_live_`,
  `ghp_`, `xoxb-`, `SG.`...), JWTs, `Bearer <token>`.
A suggested name comes from a placeholder when the value is one
(`$TWILIO_AUTH_TOKEN` -> `twilio_auth_token`), else from where it was found, with
the service's name in front of a generic one (`api.stripe.com` + `-u` ->
`stripe_api_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import ip_address

from callout.templates import TemplateSyntaxError, parse_template

TOKEN_SHAPES = re.compile(
    r"""
    \b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}          # Stripe secret and restricted keys
    | \bwhsec_[A-Za-z0-9]{8,}                          # Stripe webhook secrets
    | \bsk-(?:proj-|svcacct-|ant-)?[A-Za-z0-9_-]{16,}  # OpenAI, Anthropic
    | \bgh[pousr]_[A-Za-z0-9]{16,}                     # GitHub tokens
    | \bgithub_pat_[A-Za-z0-9_]{16,}
    | \bglpat-[A-Za-z0-9_-]{16,}                       # GitLab
    | \bxox[abeprs]-[A-Za-z0-9-]{8,}                   # Slack
    | \bSG\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}       # SendGrid
    | \bkey-[0-9a-f]{32}\b                             # Mailgun
    | \bshp(?:at|ca|pa|ss)_[0-9a-fA-F]{16,}            # Shopify
    | \blin_(?:api|oauth)_[A-Za-z0-9]{16,}             # Linear
    | \b(?:secret|ntn)_[A-Za-z0-9]{20,}                # Notion
    | \bpat[A-Za-z0-9]{14}\.[0-9a-f]{32,}              # Airtable
    | \bAKIA[0-9A-Z]{16}\b                             # AWS access key ids
    | \bAIza[0-9A-Za-z_-]{30,}                         # Google API keys
    | \b[ps]k\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}  # Mapbox
    | \beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*  # JWTs
    """,
    re.VERBOSE,
)
"""Values that are credentials by their shape alone, wherever they appear."""

BEARER_IN_TEXT = re.compile(r"\b(?i:bearer)\s+([^\s,;\"']+)")
"""`Bearer <token>` inside any header value (group 1 is the token)."""

PLACEHOLDER_VALUE = re.compile(
    r"""
    \$\{?(?P<env>[A-Za-z_][A-Za-z0-9_]*)\}?           # $VAR, ${VAR}
    | <(?P<angle>[^<>]{1,80})>                        # <YOUR_API_KEY>, <token>
    | \{\{\s*(?P<curly2>[^{}]{1,80}?)\s*\}\}          # {{token}}
    | \{(?P<curly>[^{}]{1,80})\}                      # {api_token}
    | (?P<caps>(?:YOUR|MY)_[A-Z0-9_]+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)  # YOUR_API_KEY
    | (?P<your>(?i:your)[_-][A-Za-z0-9_-]+)           # your-api-key
    """,
    re.VERBOSE,
)
"""A value that is a placeholder as a whole: its words suggest the secret's name."""

CREDENTIAL_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "apikey",
        "key",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "cookie",
        "session",
    }
)
"""A name (header, query parameter, body field) holding one of these words names a credential."""

BODY_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "routing",
        "write",
        "app",
        "application",
        "integration",
        "server",
        "master",
        "admin",
        "auth",
        "license",
        "signing",
        "client",
    }
)
"""In a body, `key` counts only after one of these (`routing_key`, not `project_key`)."""

NOT_CREDENTIAL_FIRST = frozenset(
    {
        "page",
        "next",
        "prev",
        "previous",
        "continuation",
        "cursor",
        "sync",
        "idempotency",
        "cache",
        "max",
        "min",
        "sort",
        "primary",
        "foreign",
        "partition",
        "public",
        "publishable",
    }
)
NOT_CREDENTIAL_LAST = frozenset(
    {
        "id",
        "ids",
        "email",
        "user",
        "username",
        "name",
        "type",
        "types",
        "url",
        "uri",
        "count",
        "limit",
        "expires",
        "expiry",
        "version",
        "format",
        "prefix",
        "length",
        "hint",
        "header",
        "endpoint",
        "path",
        "field",
        "fields",
    }
)
"""Names that say what a credential is for, not the credential (`page_token`, `auth_email`)."""

QUERY_SIGNATURES = frozenset({"sig", "signature"})
"""In a query, a signature is the credential of a pre-signed URL (`?sig=...`)."""

GENERIC_WORDS = frozenset(
    {
        "api",
        "key",
        "keys",
        "apikey",
        "token",
        "access",
        "auth",
        "authorization",
        "secret",
        "password",
        "private",
        "session",
        "cookie",
        "client",
        "bearer",
        "credential",
        "credentials",
        "app",
        "application",
        "write",
        "server",
        "account",
        "bot",
        "user",
        "oauth",
        "personal",
        "basic",
        "webhook",
        "url",
        "routing",
        "integration",
        "signing",
        "refresh",
        "service",
        "restricted",
        "live",
        "test",
        "sig",
        "signature",
        "certificate",
        "pass",
        "passwd",
        "pwd",
    }
)
"""A name made of these words only says nothing of the service: it gets the service in front."""

_FILLER_WORDS = frozenset({"base64", "encoded", "here"})
"""Words a placeholder uses to describe a value's form, not what it is (`<base64-encoded-key>`)."""
_NAME_PREFIXES = ("your_", "my_", "the_", "insert_", "enter_", "replace_with_")
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+")
MAX_NAME_LENGTH = 64
MAX_PLACE_LENGTH = 120
MAX_CREDENTIALS_FOUND = 100
"""The most distinct credentials one import takes: each is searched for in every text of the
step, so thousands of them in one pasted command would cost minutes of a thread."""


class TooManyCredentials(ValueError):
    """The command holds more than `MAX_CREDENTIALS_FOUND` distinct credentials."""


def name_words(name: str) -> list[str]:
    """Split a name into lower-case words: `X-API-Key`, `apiKey`, `api_key` -> api, key."""
    return [word.lower() for word in _WORD_BREAK.split(name) if word]


def snake_name(text: str) -> str:
    """Return `text` as a secret name's words joined by `_` (may be empty)."""
    return "_".join(name_words(text))


def is_credential_name(name: str, *, where: str) -> bool:
    """Say whether a header, query parameter or body field named `name` holds a credential.

    `where` is `header`, `query` or `body`.
    """
    words = name_words(name)
    if not words or words[0] in NOT_CREDENTIAL_FIRST or words[-1] in NOT_CREDENTIAL_LAST:
        return False
    if where == "query" and words[-1] in QUERY_SIGNATURES:
        return True
    for index, word in enumerate(words):
        if word == "key" and where == "body":
            if index > 0 and words[index - 1] in BODY_KEY_QUALIFIERS:
                return True
        elif word in CREDENTIAL_WORDS:
            return True
    return False


def is_secret_reference(text: str) -> bool:
    """Say whether `text` is exactly one `{{ secrets.<name> }}` (already in callout's form)."""
    try:
        whole = parse_template(text).whole
    except TemplateSyntaxError:
        return False
    return whole is not None and whole.root == "secrets"


def holds_secret_reference(text: str) -> bool:
    """Say whether `text` holds any `{{ secrets.<name> }}`."""
    try:
        references = parse_template(text).references
    except TemplateSyntaxError:
        return False
    return any(reference.root == "secrets" for reference in references)


def looks_like_token(value: str) -> bool:
    """Say whether `value` holds a credential by its shape (a known prefix, a JWT)."""
    return TOKEN_SHAPES.search(value) is not None


def placeholder_words(value: str) -> str | None:
    """Return the name a whole-value placeholder suggests (`$STRIPE_KEY` -> stripe_key)."""
    match = PLACEHOLDER_VALUE.fullmatch(value.strip())
    if match is None:
        return None
    inner = next(group for group in match.groups() if group is not None)
    name = "_".join(word for word in name_words(inner) if word not in _FILLER_WORDS)
    for prefix in _NAME_PREFIXES:
        name = name.removeprefix(prefix)
    name = name.removesuffix("_here")
    return name or None


def service_name(host: str) -> str:
    """Return the service's short name from a host: `api.stripe.com` -> `stripe`."""
    host = host.strip("[]").lower()
    try:
        ip_address(host)
    except ValueError:
        pass
    else:
        return "api"
    labels = [label for label in host.split(".") if label]
    if len(labels) >= 3 and labels[-2] in {"co", "com", "org", "net", "gov", "ac", "edu"}:
        labels = labels[:-1]
    label = labels[-2] if len(labels) >= 2 else (labels[0] if labels else "")
    if not re.fullmatch(r"[a-z0-9-]+", label) or label.startswith("your"):
        return "api"  # a placeholder host (`{yourDomain}`, `YOUR_DOMAIN`) names no service
    for prefix in ("my",):
        if label.startswith(prefix) and len(label) - len(prefix) >= 4:
            label = label[len(prefix) :]
    for suffix in ("hq", "app"):
        if label.endswith(suffix) and len(label) - len(suffix) >= 4:
            label = label[: -len(suffix)]
    name = snake_name(label)
    return name if name and name[0].isalpha() else "api"


def shown_place(text: str) -> str:
    """Return `text` (a place such as `header X-Api-Key`) with credential shapes masked."""
    masked = BEARER_IN_TEXT.sub("Bearer [credential]", TOKEN_SHAPES.sub("[credential]", text))
    return masked if len(masked) <= MAX_PLACE_LENGTH else masked[: MAX_PLACE_LENGTH - 3] + "..."


@dataclass(frozen=True, slots=True)
class SecretToStore:
    """A secret the imported step references: its suggested name and where its value was."""

    name: str
    found_in: str

    def to_json(self) -> dict[str, str]:
        """Return `{name, found_in}`."""
        return {"name": self.name, "found_in": self.found_in}


class SecretBook:
    """The credentials one import found: a name per distinct value, and where each was.

    The values stay here, for the import to check that none is left in the step;
    they are never shown (`__repr__` lists names only).
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._names: dict[str, str] = {}
        self._places: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"SecretBook(names={sorted(self._places)})"

    def suggest(self, base: str) -> str:
        """Return a secret name for `base`: snake case, the service in front of a generic one."""
        name = snake_name(base).removeprefix("x_")
        words = name.split("_") if name else []
        if not words or all(word in GENERIC_WORDS for word in words):
            name = f"{self.service}_{name}" if name else f"{self.service}_secret"
        if not name[0].isalpha():
            name = f"{self.service}_{name}"
        return name[:MAX_NAME_LENGTH].rstrip("_")

    def reference(self, value: str, *, base: str, found_in: str) -> str:
        """Return the `{{ secrets.<name> }}` that takes `value`'s place, recording where it was.

        `found_in` is shown to the user: a credential-shaped part of it (a header or
        field named with a token) is masked.
        """
        found_in = shown_place(found_in)
        name = self._names.get(value)
        if name is None:
            if len(self._names) >= MAX_CREDENTIALS_FOUND:
                raise TooManyCredentials(
                    f"the command holds more than {MAX_CREDENTIALS_FOUND} credentials; "
                    f"the import takes at most {MAX_CREDENTIALS_FOUND}"
                )
            wanted = self.suggest(placeholder_words(value) or base)
            name, count = wanted, 1
            while name in self._places:
                count += 1
                name = f"{wanted[: MAX_NAME_LENGTH - 4]}_{count}"
            self._names[value] = name
            self._places[name] = []
        if found_in not in self._places[name]:
            self._places[name].append(found_in)
        return f"{{{{ secrets.{name} }}}}"

    def without_value(self, *, base: str, found_in: str) -> str:
        """Return a reference to a new secret whose value the command does not hold (a file)."""
        wanted = name = self.suggest(base)
        count = 1
        while name in self._places:
            count += 1
            name = f"{wanted[: MAX_NAME_LENGTH - 4]}_{count}"
        self._places[name] = [shown_place(found_in)]
        return f"{{{{ secrets.{name} }}}}"

    def values(self) -> list[tuple[str, str]]:
        """Return each (value, reference) pair, longest value first (for scrubbing)."""
        pairs = [(value, f"{{{{ secrets.{name} }}}}") for value, name in self._names.items()]
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def secrets(self) -> tuple[SecretToStore, ...]:
        """Return the secrets to store, in the order they were found."""
        return tuple(
            SecretToStore(name=name, found_in=", ".join(places))
            for name, places in self._places.items()
        )

    def substitute_shapes(self, text: str, *, base: str, found_in: str) -> str:
        """Replace each credential-shaped part of `text` (and `Bearer <token>`) by a reference."""

        def bearer(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("{{"):
                return match.group(0)
            reference = self.reference(token, base=base, found_in=found_in)
            return match.group(0)[: match.start(1) - match.start(0)] + reference

        text = BEARER_IN_TEXT.sub(bearer, text)
        return TOKEN_SHAPES.sub(
            lambda match: self.reference(match.group(0), base=base, found_in=found_in), text
        )
