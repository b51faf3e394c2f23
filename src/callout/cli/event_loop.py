"""The event loop every long-running command runs on: uvloop where it is installed.

uvloop (libuv) costs less CPU per socket event than asyncio's own loop; the
service behaves the same on either (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # noqa: PLC0415 - optional: not built for every platform
    except ImportError:  # pragma: no cover - installed wherever callout runs here
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on a fresh loop (uvloop when available), like `asyncio.run`."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main)
