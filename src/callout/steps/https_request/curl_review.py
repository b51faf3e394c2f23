"""The last look at an imported step: no credential left in it, and what the user must edit.

- Scrub: a credential found once is replaced everywhere else it appears in the
  step too (the whole text equal to it, or, for a value of 8 characters or
  more, any text containing it).
- Placeholders that docs write in place of values (`$TWILIO_ACCOUNT_SID`,
  `<ACCOUNT_ID>`, `{subdomain}`, `{{baseUrl}}`, `YOUR_DOMAIN`, `$(command)`)
  are kept as text and listed in a note with the fields that hold them.
- A `{{` or `}}` that does not form a callout reference cannot be sent as text
  (a template has no escape for it): noted, with the field and column. In a raw
  JSON-typed body, `}}` becomes `} }` (the same JSON), so nested objects read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from callout.steps.https_request.curl_body import field_path, is_json_media, media_type
from callout.templates import TemplateSyntaxError, parse_template

ROOTS = ("trigger", "steps", "secrets", "run")
"""What a callout reference starts with (docs/references.md); any other `{{x}}` is a placeholder."""

PLACEHOLDERS = re.compile(
    r"""
    \$\([^()]*\) | `[^`]*`                               # $(command), `command`
    | \$\{[A-Za-z_][A-Za-z0-9_]*\} | \$[A-Za-z_][A-Za-z0-9_]*   # ${VAR}, $VAR
    | \{\{[^{}]*\}\}                                     # {{name}}
    | (?<!\{)\{[A-Za-z_][A-Za-z0-9_.-]*\}(?!\})         # {name}
    | <(?=[^<>]*[A-Z_ -])[A-Za-z_][A-Za-z0-9_ .-]{0,60}>  # <ACCOUNT_ID>, not <strong>
    | \b(?:YOUR|your|Your)[_-][A-Za-z0-9_-]+             # YOUR_DOMAIN, your-api-key
    """,
    re.VERBOSE,
)
"""Placeholder forms docs use in place of a value."""

MIN_SCRUBBED_SUBSTRING = 8
"""A credential this long or longer is replaced inside other texts too; shorter, only whole."""

MIN_SCRUBBED_WHOLE = 4
"""A credential shorter than this is not searched for elsewhere (it would match ordinary text)."""


def scrub(value: Any, secrets: list[tuple[str, str]]) -> Any:
    """Return `value` with every credential in `secrets` (value, reference) replaced."""
    if isinstance(value, str):
        for secret, reference in secrets:
            if len(secret) < MIN_SCRUBBED_WHOLE:
                continue
            if value == secret:
                return reference
            if len(secret) >= MIN_SCRUBBED_SUBSTRING and secret in value:
                value = value.replace(secret, reference)
        return value
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    return value


def step_texts(step: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (field path, text) for every text of the step a user may have to edit."""
    yield "url", step["url"]
    for field in ("query", "headers"):
        for index, pair in enumerate(step.get(field, ())):
            yield f"{field}[{index}].value", pair["value"]
    if "body" in step:
        yield from _json_texts(step["body"], "body")
    for key, text in step.get("auth", {}).items():
        if key != "type":
            yield f"auth.{key}", text


def _json_texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_texts(item, field_path(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_texts(item, field_path(path, index))


def _is_callout_reference(text: str) -> bool:
    try:
        template = parse_template(text)
    except TemplateSyntaxError:
        return False
    return bool(template.references) and all(r.root in ROOTS for r in template.references)


def placeholder_note(step: dict[str, Any]) -> str | None:
    """Return a note listing the placeholders left in the step and where, or None."""
    found: dict[str, list[str]] = {}
    markup = step.get("body_type") == "raw" and any(
        word in (media_type(step.get("content_type")) or "") for word in ("xml", "html")
    )
    for path, text in step_texts(step):
        for match in PLACEHOLDERS.finditer(text):
            placeholder = match.group(0)
            if placeholder.startswith("{{") and _is_callout_reference(placeholder):
                continue
            if placeholder.startswith("<") and markup and path == "body":
                continue
            places = found.setdefault(placeholder, [])
            if path not in places:
                places.append(path)
    if not found:
        return None
    listed = "; ".join(f"{name} ({', '.join(paths)})" for name, paths in found.items())
    return f"placeholders are kept as text; replace them before the step runs: {listed}"


def _spaced_braces(text: str) -> str:
    while "}}" in text or "{{" in text:
        text = text.replace("}}", "} }").replace("{{", "{ {")
    return text


def fix_template_text(step: dict[str, Any], notes: list[str]) -> None:
    """Note each text callout cannot send as written; space out `}}` in raw JSON bodies."""
    media = media_type(step.get("content_type"))
    if step.get("body_type") == "raw" and media is not None and is_json_media(media):
        body = step["body"]
        try:
            parse_template(body)
        except TemplateSyntaxError:
            step["body"] = _spaced_braces(body)
            notes.append(
                "the raw JSON body held '}}' or '{{', which callout reads as a reference: "
                "they are written '} }' and '{ {' (the same JSON)"
            )
    for path, text in step_texts(step):
        try:
            parse_template(text)
        except TemplateSyntaxError as exc:
            notes.append(
                f"{path} holds '{{{{' or '}}}}' that is not a reference (column {exc.column}): "
                "callout reads {{ }} as a reference and cannot send them as text; edit it"
            )
