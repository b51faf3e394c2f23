"""The directory where `callout serve`'s worker child leaves its numbers for the API to read.

prometheus_client's multiprocess mode: a process started with
`PROMETHEUS_MULTIPROC_DIR` keeps each number in a memory-mapped file there,
and any process can add them up. `serve` gives its worker child a directory of
its own, `serve-<pid>` under `.callout/metrics` (`CALLOUT_METRICS_DIR` chooses
another place), made empty at start and removed at stop. Each serve holds a
lock on its directory while it runs: a directory whose lock is free was left by
a serve that died (`kill -9`), and the next serve to start removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

METRICS_DIR_ENV = "CALLOUT_METRICS_DIR"
DEFAULT_METRICS_DIR = Path(".callout") / "metrics"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""The variable prometheus_client reads, at import, to keep numbers in files."""

LOCK_NAME = ".lock"

log = logging.getLogger("callout.serve")


def metrics_base(environ: Mapping[str, str] = os.environ) -> Path:
    """Return where serve's metrics directories go (`CALLOUT_METRICS_DIR` or .callout/metrics)."""
    return Path(environ.get(METRICS_DIR_ENV) or DEFAULT_METRICS_DIR)


@contextlib.contextmanager
def worker_metrics_directory(base: Path) -> Iterator[Path]:
    """Make this serve's empty, private metrics directory under `base`; remove it at the end.

    Where `base` cannot be made (a read-only working directory), the system's
    temporary directory serves instead, and the log says so. Directories made
    for it are removed at the end too, if no other serve uses them by then.
    """
    made = [parent for parent in (base, *base.parents) if not parent.exists()]
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        fallback = Path(tempfile.gettempdir()) / f"callout-metrics-{os.getuid()}"
        log.warning("cannot make %s (%s); worker metrics files go to %s", base, exc, fallback)
        base = fallback
        base.mkdir(exist_ok=True, mode=0o700)
    _remove_abandoned(base)
    path = base / f"serve-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)  # a serve of the same pid, before a restart
    path.mkdir(mode=0o700)
    with (path / LOCK_NAME).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            for directory in made:  # innermost first; one still in use is not empty
                with contextlib.suppress(OSError):
                    directory.rmdir()


def _remove_abandoned(base: Path) -> None:
    """Remove the directories of serves that are gone (their lock is free)."""
    for path in base.glob("serve-*"):
        lock_path = path / LOCK_NAME
        try:
            with lock_path.open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a running serve holds it
        except OSError:
            pass  # no lock file: made by a serve that died before it took one
        shutil.rmtree(path, ignore_errors=True)


def drop_live_numbers(directory: Path, pid: int) -> None:
    """Forget a worker process's live gauges (slots in use) once it has ended.

    Its counters stay: they keep counting what it did, summed with its successor's.
    """
    for path in directory.glob(f"gauge_live*_{pid}.db"):
        path.unlink(missing_ok=True)
