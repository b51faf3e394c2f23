"""A workflow step with `client_certificate` against `callout receiver --client-ca`, end to end.

The receiver requires a client certificate from its own CA
(`issue_client_certificate`, as `--make-client-cert` writes it); the step names a
certificate secret; the real transport presents it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from callout.http import AiohttpTransport, TransportConfig
from callout.model.clock import ManualClock
from callout.receiver import RunningReceiver, issue_client_certificate, start_receiver
from callout.store.protocol import StoredRun
from support.running import run_workflow, workflow_of

SIGNING = "s3cr3t-signing-key"
CLIENT_SUBJECT = "CN=callout receiver client,O=callout receiver"


@pytest.fixture
def cert_dir(tmp_path: Path) -> Path:
    return tmp_path / "receiver-certs"


@pytest.fixture
def client_pem(cert_dir: Path, tmp_path: Path) -> str:
    return issue_client_certificate(cert_dir, tmp_path / "client").read_text()


@pytest.fixture
async def receiver(cert_dir: Path, client_pem: str) -> AsyncIterator[RunningReceiver]:
    async with await start_receiver(
        secret=SIGNING, cert_dir=cert_dir, client_ca=cert_dir / "ca.pem"
    ) as running:
        yield running


@pytest.fixture
async def transport(receiver: RunningReceiver) -> AsyncIterator[AiohttpTransport]:
    config = TransportConfig(
        allowed_networks=(ip_network("127.0.0.1/32"),), ca_bundle=receiver.ca_path
    )
    real = AiohttpTransport(config)
    yield real
    await real.aclose()


async def run(
    transport: AiohttpTransport, step: dict[str, Any], secrets: dict[str, str]
) -> StoredRun:
    return await run_workflow(
        workflow_of({"id": "charge", "action": "make_https_request", **step}),
        transport=transport,
        secrets=secrets,
        clock=ManualClock(start=time.time()),
    )


async def test_a_step_with_a_client_certificate_reaches_a_receiver_that_requires_one(
    receiver: RunningReceiver, transport: AiohttpTransport, client_pem: str
) -> None:
    record = await run(
        transport,
        {
            "url": f"{receiver.url}/echo",
            "method": "POST",
            "body": {"amount": 1},
            "secret": "{{ secrets.sig }}",
            "client_certificate": "{{ secrets.partner_cert }}",
        },
        {"sig": SIGNING, "partner_cert": client_pem},
    )
    assert record.status == "completed", record.steps[0].error
    (received,) = receiver.requests
    assert received.client_certificate == CLIENT_SUBJECT
    assert received.signature.ok
    # The PEM is a secret: no line of it is in anything recorded.
    recorded = json.dumps([str(record)], default=str)
    pem_lines = [line for line in client_pem.splitlines() if line and "-----" not in line]
    assert not [line for line in pem_lines if line in recorded]


async def test_a_step_without_one_fails_saying_to_set_client_certificate(
    receiver: RunningReceiver, transport: AiohttpTransport
) -> None:
    record = await run(
        transport, {"url": f"{receiver.url}/echo", "retry_intervals": [1, 1]}, {"sig": SIGNING}
    )
    assert record.status == "failed"
    (step,) = record.steps
    assert step.error is not None
    assert step.error["type"] == "client_certificate_error"
    assert "set client_certificate to a stored certificate secret" in step.error["message"]
    assert len(step.attempts) == 1  # final: a retry cannot grow a certificate
    assert receiver.requests == []
