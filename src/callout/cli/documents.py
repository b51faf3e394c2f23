"""Read workflow documents and trigger payloads from files (or `-` for standard input)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from callout.model.errors import DocumentError, Problem
from callout.model.loading import MAX_DOCUMENT_BYTES, parse_document


def read_source(path: str, *, what: str) -> bytes:
    """Read a file's bytes, or standard input for `-`; raise DocumentError when unreadable."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise DocumentError([Problem("", f"cannot read {what} {path}: {exc.strerror}")]) from None
    return data


def load_document(path: str, *, what: str) -> Any:
    """Read and parse a JSON or YAML document (JSON types only)."""
    source = "standard input" if path == "-" else path
    return parse_document(read_source(path, what=what), source=source)
