"""The shared outage policy: capped jittered backoff, one log line each way, repeat until done."""

from __future__ import annotations

import logging
import random
from itertools import islice

import pytest

from callout.store.outage import MAX_WAIT, Backoff, StoreOutage
from callout.store.protocol import LeaseLostError, StoreUnavailable


def test_waits_start_at_a_tenth_of_a_second_double_and_stop_at_the_cap() -> None:
    waits = list(islice(Backoff().waits(random.Random(7)), 12))
    steps = [0.1, 0.2, 0.4, 0.8, 1.6] + [MAX_WAIT] * 7
    for wait, step in zip(waits, steps, strict=True):
        assert step / 2 <= wait <= step
    assert max(waits) <= MAX_WAIT == 2.0


def test_waits_are_jittered_so_workers_do_not_knock_together() -> None:
    first = list(islice(Backoff().waits(random.Random(1)), 8))
    second = list(islice(Backoff().waits(random.Random(2)), 8))
    assert all(a != b for a, b in zip(first, second, strict=True))


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callout.store")
    outage = StoreOutage()
    for _ in range(5):
        outage.lost(StoreUnavailable("the database is unavailable: connection refused"))
    assert outage.down
    outage.reached()
    outage.reached()
    assert not outage.down
    outage.lost(StoreUnavailable("the database is unavailable: database is locked"))
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3, messages
    assert messages[0].startswith("the database is unavailable: connection refused; trying")
    assert messages[1].startswith("the database is back after ")
    assert messages[2].startswith("the database is unavailable: database is locked")


async def test_ride_out_repeats_the_same_call_until_the_store_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callout.store")
    outage = StoreOutage(Backoff(first=0.001, cap=0.002))
    received: list[object] = []

    async def record(result: object) -> str:
        received.append(result)
        if len(received) < 4:
            raise StoreUnavailable("the database is unavailable: restarting")
        return "recorded"

    kept = {"status": 201}
    assert await outage.ride_out(record, kept) == "recorded"
    assert received == [kept] * 4  # the same result, kept in memory, offered each time
    assert [r.getMessage()[:28] for r in caplog.records] == [
        "the database is unavailable:",
        "the database is back after 0",
    ]


async def test_ride_out_lets_a_lost_lease_through_at_once() -> None:
    calls = 0

    async def fenced() -> None:
        nonlocal calls
        calls += 1
        raise LeaseLostError("taken over")

    with pytest.raises(LeaseLostError):
        await StoreOutage().ride_out(fenced)
    assert calls == 1


async def test_a_refusal_after_an_outage_still_says_the_database_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callout.store")
    outage = StoreOutage(Backoff(first=0.001, cap=0.002))
    calls = 0

    async def fenced() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreUnavailable("the database is unavailable: restarting")
        raise LeaseLostError("taken over")

    with pytest.raises(LeaseLostError):
        await outage.ride_out(fenced)
    assert not outage.down
    assert caplog.records[-1].getMessage().startswith("the database is back after ")
