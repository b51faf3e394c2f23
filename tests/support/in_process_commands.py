"""`callout` commands run in this process through click's runner, where a process adds nothing.

Starting `python -m callout` costs a second or more (imports, mostly). A command
that parses its arguments, reads a file or a database and prints an answer proves
the same in this process, as long as it sees what a process would:

- its arguments, this working directory, and `env` added to this environment;
- `stdin` as standard input (read through `sys.stdin.buffer`, as a pipe is);
- its standard output and standard error apart;
- on standard error, the log records a process without logging set up prints
  there (WARNING and above, Python's last-resort handler), so a check that no
  traceback was printed still sees a logged one.

An exception the command does not handle is raised here, where a process would
exit 1 with a traceback: a test that expects exit code 1 cannot pass on a crash.

The command runs in a thread of its own: it calls `asyncio.run`, and the test's
event loop is running (the HTTPS server a run sends to may be on it). One command
runs at a time: click's runner swaps `sys.stdout` and `os.environ` while it runs.

Tests that need the process itself (signals, ready lines, a real pipe on standard
input, `python -m callout`, long-running commands) use support/processes.py.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Mapping

from click.testing import CliRunner

from callout.cli.main import cli

_one_at_a_time = threading.Lock()


class _LastResort(logging.Handler):
    """Print the command thread's WARNING-and-above records to its standard error."""

    def __init__(self, thread: int) -> None:
        super().__init__(logging.WARNING)
        self.thread = thread

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record as Python's last-resort handler would, to the runner's stderr."""
        if record.thread == self.thread:
            sys.stderr.write(self.format(record) + "\n")


def _invoke(
    args: tuple[str, ...], env: Mapping[str, str], stdin: bytes | None
) -> tuple[int, str, str]:
    handler = _LastResort(threading.get_ident())
    root = logging.getLogger()
    with _one_at_a_time:
        root.addHandler(handler)
        try:
            result = CliRunner().invoke(
                cli,
                list(args),
                input=stdin,
                env=dict(env),
                prog_name="callout",
                catch_exceptions=False,
            )
        finally:
            root.removeHandler(handler)
    return result.exit_code, result.stdout, result.stderr


async def invoke_callout(
    *args: str, env: Mapping[str, str], stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run `callout ARGS` to its end in this process; return its exit code, output and error."""
    return await asyncio.to_thread(_invoke, args, env, stdin)
