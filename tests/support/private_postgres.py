"""A private PostgreSQL server that a test may stop and restart: never the machine's shared one.

`initdb` and `pg_ctl` from the installed PostgreSQL make a cluster in a fresh
folder and start it on a free loopback port with trust authentication (about
1.5 s). PostgreSQL refuses to run as root, so as root the commands run as the
`postgres` user (`runuser`), in a folder that user owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
COMMAND_TIMEOUT = 60.0


def postgres_bindir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl` (the newest installed version), or None."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for bindir in reversed(versions):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    found = shutil.which("pg_ctl")
    if found is not None and (Path(found).parent / "initdb").exists():
        return Path(found).parent
    return None


def missing_reason() -> str | None:
    """Why a private server cannot be made here, or None when it can."""
    if postgres_bindir() is None:
        return "PostgreSQL's initdb and pg_ctl are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is not installed"
    return None


def _as_server_user(*command: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return list(command)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, on 127.0.0.1:`port`."""

    bindir: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        """The URL callout connects with (the cluster's own `postgres` database)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.folder / "server.log"

    def _options(self) -> str:
        # fsync off: a test cluster need not survive a power cut, and it starts faster.
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c full_page_writes=off"
        )

    async def _run(self, *command: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *_as_server_user(*command),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {out.decode(errors='replace')}")

    async def _pg_ctl(self, *args: str) -> None:
        await self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-t", "30", *args
        )

    async def init(self) -> None:
        """Make the cluster (trust authentication, superuser `postgres`)."""
        await self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.folder / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    async def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        await self._pg_ctl("-l", str(self.log), "-o", self._options(), "start")

    async def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: sessions are ended, as in a restart or a failover)."""
        await self._pg_ctl("-m", mode, "stop")

    async def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session ended, the server back at once."""
        await self._pg_ctl("-m", "fast", "-l", str(self.log), "-o", self._options(), "restart")


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """Yield a started private cluster; stop and delete it afterwards."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError(missing_reason())
    # Not under pytest's tmp_path: as root, that folder is closed to the server's user.
    folder = Path(tempfile.mkdtemp(prefix="callout-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
    server = PrivatePostgres(bindir=bindir, folder=folder, port=_free_port())
    try:
        await server.init()
        await server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # already stopped
            await server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
