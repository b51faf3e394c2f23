"""Back up a live SQLite store, and check a copy before trusting it.

`backup_sqlite` copies the database with SQLite's online backup API in one
step: the copy is read inside one read transaction, so it is the database as
it stood at one commit, while the API and workers go on writing (in WAL mode a
reader never blocks a writer). The copy is written beside its destination,
synced, switched to a rollback journal (one self-contained file; callout turns
WAL back on when it opens it) and only then renamed into place: a copy that
exists is whole.

`check_sqlite` opens a copy read-only and says whether callout can start from
it: SQLite's integrity check, foreign keys, the schema revision (one this
callout knows), and what it holds. PostgreSQL is backed up with its own tools
(docs/ops/backup.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from callout.model.errors import StoreError

COUNTED = (
    "organizations",
    "workflows",
    "workflow_versions",
    "runs",
    "step_runs",
    "attempts",
    "trigger_calls",
)
"""The tables a check counts (what an operator recognises their data by)."""


class BackupError(StoreError):
    """A backup could not be made (the source is no callout store, the target exists...)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A copy made: where, how large, what it holds, how long it took."""

    path: Path
    bytes: int
    revision: str | None
    runs: int
    seconds: float


@dataclass(frozen=True, slots=True)
class StoreCheck:
    """What a check found: problems (none: callout can start from it) and counts."""

    path: Path
    revision: str | None
    counts: dict[str, int] = field(default_factory=dict)
    runs_by_status: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether callout can start from this file."""
        return not self.problems


@contextlib.contextmanager
def _connected(
    target: str, *, uri: bool = False, timeout: float = 10.0
) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(target, uri=uri, timeout=timeout, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row is not None else None


def backup_sqlite(source: Path, target: Path, *, busy_timeout: float = 10.0) -> BackupResult:
    """Copy the live store at `source` to `target` (which must not exist), consistently.

    Raises BackupError with a clear message when it cannot.
    """
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file; choose a new path")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    began = time.monotonic()
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # mode=rw: a path that is no database is refused, never created empty.
    with _connected(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=busy_timeout) as src:
        revision = _revision(src)
        if revision is None:
            raise BackupError(f"{source} is not a callout database (no schema revision)")
        try:
            with _connected(str(partial)) as copy:
                src.backup(copy)  # every page in one step: one read transaction, one snapshot
                copy.execute("PRAGMA journal_mode=DELETE")
                runs = int(copy.execute("SELECT count(*) FROM runs").fetchone()[0])
            _sync(partial)
            partial.replace(target)
            _sync(target.parent)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(
        path=target,
        bytes=target.stat().st_size,
        revision=revision,
        runs=runs,
        seconds=time.monotonic() - began,
    )


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def check_sqlite(path: Path, *, known: set[str]) -> StoreCheck:
    """Check the SQLite file at `path` without changing it; `known`: the revisions callout knows."""
    if not path.is_file():
        return StoreCheck(path, None, problems=[f"there is no file at {path}"])
    problems: list[str] = []
    counts: dict[str, int] = {}
    by_status: dict[str, int] = {}
    try:
        with _connected(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
            integrity = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
            if integrity != ["ok"]:
                problems += [f"integrity check: {line}" for line in integrity[:20]]
            revision = _revision(conn)
            if revision is None:
                problems.append("no schema revision: this is not a callout database")
                return StoreCheck(path, None, problems=problems)
            if revision not in known:
                problems.append(
                    f"schema revision {revision} is unknown to this callout (a newer one wrote it)"
                )
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                problems.append(f"{len(broken)} row(s) refer to rows that do not exist")
            for table in COUNTED:
                counts[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - table names are ours
            by_status = {
                str(status): int(number)
                for status, number in conn.execute(
                    "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status"
                )
            }
    except sqlite3.DatabaseError as exc:
        return StoreCheck(path, None, problems=[*problems, f"cannot read {path}: {exc}"])
    return StoreCheck(path, revision, counts, by_status, problems)
