"""Keep the garbage collector's pauses short in processes that serve and work for long."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Take every object alive once a process has started out of the collector's walks.

    A full collection walks every tracked object, holding the GIL (so the event loop
    and every thread) meanwhile. The ~150,000 objects of the imported code and the
    built app cost ~100 ms a walk on a small machine, and a body of many values kept
    by a step triggers full collections; those objects live as long as the process,
    so they are frozen (`gc.freeze`) and a collection walks only what came after
    (docs/attempts.md, "What a step keeps").
    """
    gc.collect()
    gc.freeze()
