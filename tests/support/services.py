"""Services a test needs: skip without them, or fail when CI requires every test to run."""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "CALLOUT_TEST_REQUIRE_ALL"  # .ci/run sets it: a missing service fails, not skips


def skip_or_fail(reason: str) -> None:
    """Skip with `reason`, or fail when `CALLOUT_TEST_REQUIRE_ALL=1`."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 forbids skipping")
    pytest.skip(reason)
