"""A receiver on a free loopback port, and an aiohttp client that trusts its generated CA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from callout.receiver import RunningReceiver, start_receiver
from support.receiver_clients import RECEIVER_SECRET, client_for


@pytest.fixture
def cert_dir(tmp_path: Path) -> Path:
    return tmp_path / "receiver-certs"


@pytest.fixture
async def receiver(cert_dir: Path) -> AsyncIterator[RunningReceiver]:
    async with await start_receiver(secret=RECEIVER_SECRET, cert_dir=cert_dir) as running:
        yield running


@pytest.fixture
async def client(receiver: RunningReceiver) -> AsyncIterator[aiohttp.ClientSession]:
    async with client_for(receiver.ca_path) as session:
        yield session
