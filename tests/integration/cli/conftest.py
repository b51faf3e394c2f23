"""CLI tests: `callout` commands run in a fresh working directory with no settings inherited."""

from __future__ import annotations

from pathlib import Path

import pytest

INHERITED_SETTINGS = (
    "CALLOUT_SECRET_KEY",
    "CALLOUT_SECRET_KEY_FILE",
    "CALLOUT_DATABASE_URL",
    "CALLOUT_CA_BUNDLE",
    "CALLOUT_ALLOWED_NETWORKS",
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory for every process, with no callout settings inherited."""
    monkeypatch.chdir(tmp_path)
    for name in INHERITED_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path
