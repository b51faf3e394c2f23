"""Wait for something another task or process does, with a deadline rather than a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    what: str,
    *,
    seconds: float = 5.0,
    every: float = 0.005,
) -> None:
    """Poll `check` every `every` seconds until it holds; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()
        if await answer if inspect.isawaitable(answer) else answer:
            return
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        await asyncio.sleep(every)
