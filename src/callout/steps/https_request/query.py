"""Add the step's `query` pairs to a resolved URL, each key and value percent-encoded.

Encoding is RFC 3986's: every character but the unreserved ones (`A-Z a-z 0-9 - . _ ~`)
is percent-encoded from UTF-8 (a space is `%20`, never `+`), so no value can change
the query's structure. The pairs follow the URL's own query, in list order, joined
with `&`; a fragment stays last.
"""

from __future__ import annotations

from urllib.parse import quote

from callout.model.errors import RequestRejected
from callout.steps.https_request.pairs_config import NOT_UNICODE
from callout.templates import Scope, SizeBudget, resolve_text


def encode_query_pair(key: str, value: str) -> str:
    """Return `key=value`, each percent-encoded (RFC 3986: only unreserved characters kept)."""
    try:
        return f"{quote(key, safe='')}={quote(value, safe='')}"
    except UnicodeEncodeError:
        raise RequestRejected(f"query parameter {key}: the resolved value {NOT_UNICODE}") from None


def join_query(url: str, encoded: list[str]) -> str:
    """Return `url` with `encoded` pairs after its own query (and before its fragment)."""
    if not encoded:
        return url
    base, hash_sign, fragment = url.partition("#")
    joined = "&".join(encoded)
    if "?" not in base:
        base = f"{base}?{joined}"
    elif base.endswith(("?", "&")):
        base += joined
    else:
        base = f"{base}&{joined}"
    return base + hash_sign + fragment


def add_query(
    url: str, pairs: tuple[tuple[str, str], ...], scope: Scope, budget: SizeBudget
) -> str:
    """Resolve each pair's value and add the pairs to `url`.

    `budget` is the resolved URL's: a value stops resolving once the URL could no
    longer fit (encoding never shortens a value); the URL's length is checked after.
    """
    encoded = [
        encode_query_pair(key, resolve_text(template, scope, budget=budget))
        for key, template in pairs
    ]
    return join_query(url, encoded)
