"""`callout` commands as real processes: start them, kill them, wait for them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path


async def start_callout(
    *args: str, env: Mapping[str, str], log: Path | None = None
) -> asyncio.subprocess.Process:
    """Start `callout ARGS` with `env` added to this environment; output goes to `log`."""
    out = log.open("ab") if log is not None else asyncio.subprocess.DEVNULL
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "callout",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env={**os.environ, **env},
        )
    finally:
        if log is not None and not isinstance(out, int):
            out.close()


async def wait_for_line(log: Path, text: str, *, count: int = 1, timeout: float = 30.0) -> None:
    """Wait until `text` appears `count` times in `log` (a process said it got somewhere)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await asyncio.to_thread(log.read_text, errors="replace")).count(text) < count:
        if loop.time() > deadline:
            msg = f"{text!r} did not appear {count} time(s) in {log} within {timeout} s"
            raise AssertionError(msg)
        await asyncio.sleep(0.05)


async def kill_hard(process: asyncio.subprocess.Process) -> None:
    """`kill -9` the process and reap it."""
    if process.returncode is None:
        process.send_signal(signal.SIGKILL)
    await process.wait()


async def stop_gently(process: asyncio.subprocess.Process, timeout: float = 20.0) -> int:
    """Send SIGTERM and wait for the exit code."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), timeout)


async def run_callout(
    *args: str, env: Mapping[str, str], stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run `callout ARGS` to its end; return its exit code, standard output and error."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callout",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def children_of(pid: int) -> list[int]:
    """The processes `pid` started (serve's worker, say), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found
