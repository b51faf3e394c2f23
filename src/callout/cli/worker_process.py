"""`callout serve`'s worker: a child process beside the API, supervised, woken through a pipe.

One interpreter runs one core at a time: the API and the worker in two
processes use both cores of a small machine. The API writes a byte to a pipe
when it has started runs, and the worker (reading the other end, `--wake-fd`)
looks for work at once instead of at its next poll; the pipe is only a hint,
polling stays the truth. A worker that dies is started again after a pause
that grows to 30 s; `serve` stops its worker when it stops (SIGTERM, then the
grace period, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence

log = logging.getLogger("callout.serve")

RESTART_FIRST, RESTART_CAP = 0.5, 30.0
"""Seconds before a dead worker is started again: doubling from the first to the cap."""

STOP_MARGIN = 5.0
"""Seconds beyond its grace period a stopping worker has before it is killed."""


class WakePipe:
    """The API's end of the worker's wake-up pipe: `wake()` never blocks and never fails."""

    def __init__(self) -> None:
        self.reader, self._writer = os.pipe()
        os.set_blocking(self._writer, False)

    def wake(self) -> None:
        """Tell the worker new work is due (a full pipe already says so)."""
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._writer, b"!")

    def close(self) -> None:
        """Close both ends."""
        for fd in (self.reader, self._writer):
            with contextlib.suppress(OSError):
                os.close(fd)


def listen_for_wakes(
    fd: int, wake: Callable[[], None], gone: Callable[[], None]
) -> Callable[[], None]:
    """Call `wake()` whenever bytes arrive on `fd`, `gone()` when it closes; return what stops.

    The pipe closes when `callout serve` exits, however it exits (even `kill -9`):
    its worker then stops too, rather than run on alone.
    """
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if not data:  # the API's end closed: serve is gone
            loop.remove_reader(fd)
            gone()
            return
        wake()

    loop.add_reader(fd, readable)

    def stop_listening() -> None:
        loop.remove_reader(fd)

    return stop_listening


async def supervise_worker(
    arguments: Sequence[str],
    pipe: WakePipe,
    stop: asyncio.Event,
    *,
    grace: float,
    env: Mapping[str, str] | None = None,
    on_exit: Callable[[int], None] | None = None,
) -> None:
    """Run `callout worker ARGUMENTS --wake-fd ...` until `stop`, starting it again if it dies.

    `env`: the worker's environment (None: this one). `on_exit(pid)` is called each time
    a worker process has ended (its live numbers are dropped: cli/metrics_directory.py).
    """
    pause = RESTART_FIRST
    while not stop.is_set():
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "callout",
            "worker",
            *arguments,
            "--wake-fd",
            str(pipe.reader),
            pass_fds=(pipe.reader,),
            env=env,
        )
        exited = asyncio.ensure_future(process.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            stopping.cancel()
            await _stop(process, exited, grace)
            if on_exit is not None:
                on_exit(process.pid)
            return
        stopping.cancel()
        if on_exit is not None:
            on_exit(process.pid)
        log.error(
            "the worker process exited (code %s); starting it again in %.1f s",
            process.returncode,
            pause,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        pause = min(pause * 2, RESTART_CAP)


async def _stop(
    process: asyncio.subprocess.Process, exited: asyncio.Future[int], grace: float
) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), grace + STOP_MARGIN)
    if exited.done():
        return
    log.error("the worker process did not stop within %.0f s; killing it", grace + STOP_MARGIN)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await exited
