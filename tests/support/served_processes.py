"""`callout serve` and `callout api` as real processes on a free port, used once `/healthz` answers.

Every CLI test that talks to a served API starts it the same way: pick a free
loopback port, start the process with its output in a log, wait for `/healthz`
(failing with the log if it never answers or the process exits), and kill it at
the end unless the test stopped it gently to check its exit code.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support.in_process_commands import invoke_callout
from support.processes import kill_hard, run_callout, start_callout

STARTUP_TIMEOUT = 30.0
"""How long a served process may take to answer `/healthz` (generous: a shared 2-core box)."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class ServedCallout:
    """A served `callout` process: the process, the port it listens on, the log it prints to."""

    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def base(self) -> str:
        """Its base URL, e.g. http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str, **options: Any) -> httpx.AsyncClient:
        """An httpx client for its API that sends `key` as the bearer token."""
        return httpx.AsyncClient(
            base_url=self.base, headers={"Authorization": f"Bearer {key}"}, **options
        )


async def read_log(path: Path) -> str:
    """What a process has printed to `path` so far (nothing when it has not started one)."""
    return await asyncio.to_thread(lambda: path.read_text() if path.exists() else "")


async def wait_healthy(served: ServedCallout, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until `served` answers `/healthz` 200; fail with its log if it exits or never does."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=served.base) as client:
        while True:
            if served.process.returncode is not None:
                msg = f"callout exited ({served.process.returncode}):\n{await read_log(served.log)}"
                raise AssertionError(msg)
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                msg = f"nothing answered on port {served.port}:\n{await read_log(served.log)}"
                raise AssertionError(msg)
            await asyncio.sleep(0.1)


@asynccontextmanager
async def serving_callout(
    command: str,
    *args: str,
    env: Mapping[str, str],
    log: Path,
    timeout: float = STARTUP_TIMEOUT,
) -> AsyncIterator[ServedCallout]:
    """Run `callout COMMAND --port PORT ARGS` (serve or api) until `/healthz` answers.

    The process is killed at the end unless the test stopped it (to check its exit code).
    """
    port = free_port()
    # Unbuffered, so that the log shows what the process printed while it still runs.
    process = await start_callout(
        command, "--port", str(port), *args, env={**env, "PYTHONUNBUFFERED": "1"}, log=log
    )
    served = ServedCallout(process=process, port=port, log=log)
    try:
        await wait_healthy(served, timeout)
        yield served
    finally:
        await kill_hard(process)


async def create_org(env: Mapping[str, str], *, as_process: bool = False) -> str:
    """`callout orgs create Acme --plan growth` as the operator runs it; return its API key.

    It runs in this process (support/in_process_commands.py) unless `as_process`: a
    process of its own adds a second or more to every test that serves an API, and
    proves nothing more there; end-to-end tests, where every part is a process, ask for one.
    """
    command = run_callout if as_process else invoke_callout
    code, out, err = await command("orgs", "create", "Acme", "--plan", "growth", "--json", env=env)
    assert code == 0, err
    made: dict[str, Any] = json.loads(out)
    assert made["organization"]["plan"] == "growth"
    key: str = made["api_key"]
    return key
