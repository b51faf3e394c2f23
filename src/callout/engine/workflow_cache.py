"""Validated workflows, compiled once per process and shared by the API and the worker.

A published version never changes, so its id is its key; a document with no
version (a run of `callout run`) is keyed by its canonical JSON text.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from callout.steps.validation import ValidWorkflow, validate_workflow


class WorkflowCache:
    """Validated workflows by version id (or document), so schemas are compiled once."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, bool], ValidWorkflow] = OrderedDict()
        # The API validates in threads (trigger calls): the dict is shared by them.
        self._lock = threading.Lock()

    def cached(self, version_id: str | None, *, allow_http: bool = False) -> ValidWorkflow | None:
        """Return the validated workflow of a version already seen here, without work."""
        if version_id is None:
            return None
        with self._lock:
            found = self._entries.get((version_id, allow_http))
            if found is not None:
                self._entries.move_to_end((version_id, allow_http))
            return found

    def get(
        self, document: Any, *, allow_http: bool = False, version_id: str | None = None
    ) -> ValidWorkflow:
        """Return the validated workflow of `document` (validated on first sight).

        `version_id` names a published version (whose document never changes): the key
        is then the id, not a dump of the document. Raises DocumentError when this
        process's settings refuse the document.
        """
        name = version_id or json.dumps(document, sort_keys=True, separators=(",", ":"))
        key = (name, allow_http)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        found = validate_workflow(document, allow_http=allow_http)
        with self._lock:
            self._entries[key] = found
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return found
