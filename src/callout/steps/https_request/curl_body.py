"""What a curl command's data becomes: a JSON body, form fields, raw text, or query parameters.

- JSON (`body_type` left out, its default) when the data parses as a JSON object
  or array and the content type is JSON or not given (docs often leave out the
  header; curl itself would then send `application/x-www-form-urlencoded`).
- `form` when the content type is `application/x-www-form-urlencoded` or not
  given and every piece is `name=value`: pieces are form-decoded (`+` is a
  space, `%XX` a byte) because callout encodes them again when it sends.
- `raw` otherwise, with the content type given (or
  `application/x-www-form-urlencoded`, what curl sends without one).
- `-G` puts the data into query parameters instead, as curl puts it into the URL.
Credentials in a body are replaced by secret references (`curl_secrets.py`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_plus

from callout.model.json_input import JsonInputError, parse_json_value
from callout.steps.https_request.curl_options import DataPart
from callout.steps.https_request.curl_secrets import (
    SecretBook,
    is_credential_name,
    is_secret_reference,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def field_path(base: str, key: str | int) -> str:
    """Return a child's path as documents write them: `body.a`, `body["odd key"]`, `body[0]`."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if _NAME.fullmatch(key) else f"{base}[{json.dumps(key)}]"


@dataclass(frozen=True, slots=True)
class BodyPlan:
    """The step's body: `body_type` (None: JSON), the body, and `content_type` for raw."""

    body_type: str | None
    body: Any
    content_type: str | None = None
    keeps_content_type_header: bool = False


def media_type(content_type: str | None) -> str | None:
    """Return a content type's media type in lower case (`application/json`), or None."""
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


def is_json_media(media: str) -> bool:
    """Say whether a media type is JSON (`application/json`, `application/vnd.api+json`)."""
    _, _, sub = media.partition("/")
    return sub == "json" or sub.endswith("+json")


def form_pairs(text: str, *, lenient: bool) -> list[tuple[str, str]] | None:
    """Split `a=1&b=2` into decoded pairs; a piece without `=` gives None (or `(piece, "")`)."""
    pairs: list[tuple[str, str]] = []
    for piece in text.split("&"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        if not sep and not lenient:
            return None
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def data_pairs(parts: list[DataPart], *, lenient: bool) -> list[tuple[str, str]] | None:
    """Return every data option's pairs in order (`--data-urlencode` content as written)."""
    pairs: list[tuple[str, str]] = []
    for part in parts:
        if part.kind == "urlencode":
            name, _, content = part.text.partition("=")
            pairs.append((unquote_plus(name), content))
            continue
        found = form_pairs(part.text, lenient=lenient)
        if found is None:
            return None
        pairs.extend(found)
    return pairs


def wire_text(parts: list[DataPart]) -> str:
    """Return the body curl would send: the pieces joined by `&`, `--data-urlencode` encoded."""
    pieces: list[str] = []
    for part in parts:
        if part.kind == "urlencode":
            name, _, content = part.text.partition("=")
            pieces.append(f"{name}={quote(content, safe='')}")
        else:
            pieces.append(part.text)
    return "&".join(pieces)


def json_value(text: str) -> tuple[Any, str | None]:
    """Return (the JSON object or array in `text`, None), or (None, why it is not one)."""
    try:
        value = parse_json_value(text)
    except JsonInputError as exc:
        return None, exc.message.removeprefix("is ")
    if not isinstance(value, dict | list):
        return None, "JSON, but not an object or array"
    return value, None


def plan_body(
    *, data: list[DataPart], json_parts: list[str], content_type: str | None, notes: list[str]
) -> BodyPlan | None:
    """Decide what the command's data becomes (None: no body); add a note where it is raw."""
    if json_parts:
        text = "".join(json_parts)  # curl joins --json pieces as they are
        chosen = content_type or JSON
        value, why = json_value(text)
        if value is not None:
            return BodyPlan(None, value, keeps_content_type_header=media_type(chosen) != JSON)
        notes.append(
            f"the --json data cannot be read as JSON ({why}): it is sent as raw text with "
            f"content_type {chosen}"
        )
        return BodyPlan("raw", text, chosen)
    if not data:
        return None
    media = media_type(content_type)
    text = wire_text(data)
    urlencoded = any(part.kind == "urlencode" for part in data)
    if not urlencoded and (media is None or is_json_media(media)):
        looks_like_json = text.lstrip()[:1] in {"{", "["}
        value, why = json_value(text) if looks_like_json else (None, "not JSON")
        if value is not None:
            return BodyPlan(None, value, keeps_content_type_header=media not in {None, JSON})
        if media is None and looks_like_json:
            notes.append(
                f"the body looks like JSON but cannot be read as JSON ({why}): it is sent as raw "
                f"text with content_type {JSON} (curl would send {FORM}; replace any placeholder "
                "in it, or make it valid JSON to edit it as JSON)"
            )
            return BodyPlan("raw", text, JSON)
        if media is not None:
            notes.append(
                f"the body cannot be read as JSON ({why}): it is sent as raw text with "
                f"content_type {content_type} "
                "(replace any placeholder in it, or make it valid JSON to edit it as JSON)"
            )
            return BodyPlan("raw", text, content_type)
    if media in {None, FORM}:
        pairs = data_pairs(data, lenient=False)
        if pairs is not None:
            return BodyPlan("form", pairs)
        notes.append(
            "the data is not all name=value pairs: it is sent as raw text with content_type "
            f"{content_type or FORM}, as curl sends it"
        )
        return BodyPlan("raw", text, content_type or FORM)
    return BodyPlan("raw", text, content_type)


def _credential(book: SecretBook, key: str, value: str, found_in: str) -> str:
    """Return `value`, or the reference that takes its place when it is a credential."""
    if not value or is_secret_reference(value):
        return value
    if is_credential_name(key, where="body"):
        return book.reference(value, base=key, found_in=found_in)
    return book.substitute_shapes(value, base="token", found_in=found_in)


def _json_credentials(book: SecretBook, value: Any, path: str, key: str) -> Any:
    if isinstance(value, str):
        return _credential(book, key, value, path)
    if isinstance(value, dict):
        return {
            name: _json_credentials(book, item, field_path(path, name), name)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [
            _json_credentials(book, item, field_path(path, index), key)
            for index, item in enumerate(value)
        ]
    return value


def body_with_references(plan: BodyPlan, book: SecretBook) -> Any:
    """Return the plan's body as the step holds it, each credential replaced by a reference."""
    if plan.body_type == "form":
        return [
            {"key": key, "value": _credential(book, key, value, f"form field {key}")}
            for key, value in plan.body
        ]
    if plan.body_type == "raw":
        return book.substitute_shapes(plan.body, base="token", found_in="body")
    return _json_credentials(book, plan.body, "body", "")
