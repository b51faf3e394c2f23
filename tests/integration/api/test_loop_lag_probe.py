"""The loop-lag probe sees a held event loop, and the in-process server serves `/healthz`."""

from __future__ import annotations

import asyncio
import time

import pytest

from support.api_clients import Service
from support.in_process_servers import serving
from support.loop_lag import loop_lag_probe

pytestmark = pytest.mark.looplag  # wall-clock latency: run after the rest (`make test`)


async def test_the_probe_measures_a_loop_held_by_blocking_work(sqlite_service: Service) -> None:
    async with serving(sqlite_service.app) as base, loop_lag_probe(base) as probe:
        await asyncio.sleep(0.2)
        time.sleep(0.4)  # noqa: ASYNC251 - holding the loop is what this test measures
        await asyncio.sleep(0.2)
    assert probe.count >= 5, probe.summary()
    assert probe.worst >= 0.3, probe.summary()


async def test_the_probe_sees_a_free_loop_answer_quickly(sqlite_service: Service) -> None:
    async with serving(sqlite_service.app) as base, loop_lag_probe(base) as probe:
        await asyncio.sleep(0.5)
    probe.assert_worst_below(0.1)


async def test_the_probe_fails_loudly_without_answers() -> None:
    # The discard port: nothing answers there.
    probe = loop_lag_probe("http://127.0.0.1:9", first_sample_timeout=0.5)
    with pytest.raises(AssertionError, match="no answer"):
        async with probe:
            await asyncio.sleep(0.1)
