"""Clients for the local receiver: trust its generated CA and nothing else."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp

RECEIVER_SECRET = "s3cr3t-for-tests"


def client_for(ca_path: Path | None) -> aiohttp.ClientSession:
    """Return a session that trusts only `ca_path` (the system roots when None)."""
    context = ssl.create_default_context(cafile=str(ca_path) if ca_path else None)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
