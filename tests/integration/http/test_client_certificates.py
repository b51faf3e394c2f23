"""Client certificates (mutual TLS): presented when asked, refusals named, never leaked.

Real loopback servers that require a certificate from a client CA of the test's
own: an asyncio one (drops the connection, as `callout receiver --client-ca`
does) and a blocking OpenSSL one (answers with a TLS alert).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path

import pytest
import trustme

from callout.http import AiohttpTransport, OutboundRequest, TransportConfig
from callout.model.errors import ClientCertificateError, GuardError, TLSError
from integration.http.loopback import ConnectionSpy, ScriptedResolver, StartServer
from integration.http.mtls_servers import (
    AlertingServer,
    MtlsServer,
    aiohttp_mtls_server,
    client_auth_context,
    client_pem,
)

ASKED = "asked for a client certificate and the step sets none: set client_certificate"


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA(organization_name="Partner client CA")


@pytest.fixture(scope="module")
def partner_pem(client_ca: trustme.CA) -> str:
    return client_pem(client_ca, "partner-client")


@pytest.fixture
async def mtls_server(ca: trustme.CA, client_ca: trustme.CA) -> AsyncIterator[MtlsServer]:
    async with aiohttp_mtls_server(client_auth_context(ca, client_ca)) as server:
        yield server


@pytest.fixture
def alerting_server(ca: trustme.CA, client_ca: trustme.CA) -> Iterator[AlertingServer]:
    with AlertingServer(client_auth_context(ca, client_ca)) as server:
        yield server


@pytest.fixture
def alerting_tls12_server(ca: trustme.CA, client_ca: trustme.CA) -> Iterator[AlertingServer]:
    context = client_auth_context(ca, client_ca, maximum=ssl.TLSVersion.TLSv1_2)
    with AlertingServer(context) as server:
        yield server


def get(url: str, pem: str | None) -> OutboundRequest:
    return OutboundRequest("GET", url, client_certificate=pem, timeout=10)


# --- presented when asked ----------------------------------------------------


async def test_the_client_certificate_is_presented_and_the_server_sees_its_subject(
    mtls_server: MtlsServer, loopback_transport: AiohttpTransport, partner_pem: str
) -> None:
    response = await loopback_transport.send(get(mtls_server.url("/charge"), partner_pem))
    assert (response.status, response.body) == (200, b"ok")
    (subject,) = mtls_server.subjects
    assert subject is not None
    assert "CN=partner-client" in subject


async def test_a_certificate_with_its_key_after_it_works_too(
    mtls_server: MtlsServer, loopback_transport: AiohttpTransport, client_ca: trustme.CA
) -> None:
    leaf = client_ca.issue_cert("reordered@example.com", common_name="reordered")
    pem = (
        "".join(p.bytes().decode() for p in leaf.cert_chain_pems)
        + leaf.private_key_pem.bytes().decode()
    )
    response = await loopback_transport.send(get(mtls_server.url(), pem))
    assert response.status == 200
    assert "CN=reordered" in str(mtls_server.subjects[0])


async def test_a_certificate_from_an_intermediate_ca_is_sent_with_its_chain(
    mtls_server: MtlsServer, loopback_transport: AiohttpTransport, client_ca: trustme.CA
) -> None:
    intermediate = client_ca.create_child_ca()
    pem = client_pem(intermediate, "via-intermediate")
    response = await loopback_transport.send(get(mtls_server.url(), pem))
    assert response.status == 200
    assert "CN=via-intermediate" in str(mtls_server.subjects[0])


async def test_a_server_that_does_not_ask_gets_no_certificate_and_the_request_succeeds(
    start_server: StartServer, loopback_transport: AiohttpTransport, partner_pem: str
) -> None:
    server = await start_server()
    response = await loopback_transport.send(get(server.url("/"), partner_pem))
    assert response.status == 200


# --- refusals: the server drops the connection (asyncio, the receiver) -----------


async def test_without_a_certificate_the_error_says_the_server_asked_for_one(
    mtls_server: MtlsServer, loopback_transport: AiohttpTransport
) -> None:
    with pytest.raises(ClientCertificateError, match=ASKED) as caught:
        await loopback_transport.send(get(mtls_server.url(), None))
    assert caught.value.kind == "client_certificate_error"
    assert not caught.value.retryable
    assert str(caught.value).startswith(f"127.0.0.1:{mtls_server.port} asked")
    assert mtls_server.subjects == []


async def test_a_certificate_from_another_ca_is_refused_by_name(
    mtls_server: MtlsServer, loopback_transport: AiohttpTransport
) -> None:
    stranger = client_pem(trustme.CA(), "stranger")
    with pytest.raises(ClientCertificateError, match="refused the client certificate"):
        await loopback_transport.send(get(mtls_server.url(), stranger))
    assert mtls_server.subjects == []


async def test_a_connection_made_with_a_certificate_never_serves_a_request_without_one(
    mtls_server: MtlsServer, loopback_transport: AiohttpTransport, partner_pem: str
) -> None:
    # aiohttp pools connections per TLS context: the pooled connection that
    # presented partner_pem must not carry the next request, which has none.
    first = await loopback_transport.send(get(mtls_server.url(), partner_pem))
    assert first.status == 200
    with pytest.raises(ClientCertificateError, match=ASKED):
        await loopback_transport.send(get(mtls_server.url(), None))
    again = await loopback_transport.send(get(mtls_server.url(), partner_pem))
    assert again.status == 200


# --- refusals: the server answers with a TLS alert (OpenSSL, Go, Java...) ---------


async def test_tls13_certificate_required_alert_says_the_server_asked_for_one(
    alerting_server: AlertingServer, loopback_transport: AiohttpTransport
) -> None:
    with pytest.raises(ClientCertificateError, match=ASKED):
        await loopback_transport.send(get(alerting_server.url(), None))
    assert set(alerting_server.outcomes) == {"PEER_DID_NOT_RETURN_A_CERTIFICATE"}


async def test_an_unknown_ca_alert_names_the_refusal(
    alerting_server: AlertingServer, loopback_transport: AiohttpTransport
) -> None:
    stranger = client_pem(trustme.CA(), "stranger")
    with pytest.raises(
        ClientCertificateError, match=r"refused the client certificate \(TLS alert: unknown ca\)"
    ):
        await loopback_transport.send(get(alerting_server.url(), stranger))


async def test_a_tls12_server_asking_for_a_certificate_is_recognised(
    alerting_tls12_server: AlertingServer, loopback_transport: AiohttpTransport
) -> None:
    with pytest.raises(ClientCertificateError, match=ASKED):
        await loopback_transport.send(get(alerting_tls12_server.url(), None))


async def test_a_tls12_server_accepts_the_certificate(
    alerting_tls12_server: AlertingServer,
    loopback_transport: AiohttpTransport,
    partner_pem: str,
) -> None:
    response = await loopback_transport.send(get(alerting_tls12_server.url(), partner_pem))
    assert response.status == 200
    assert "CN=partner-client" in str(alerting_tls12_server.subjects[0])


async def test_an_expired_certificate_refused_says_when_it_expired(
    alerting_server: AlertingServer, loopback_transport: AiohttpTransport, client_ca: trustme.CA
) -> None:
    ended = datetime.now(UTC) - timedelta(days=3)
    pem = client_pem(client_ca, "expired", not_before=ended - timedelta(days=30), not_after=ended)
    with pytest.raises(ClientCertificateError, match=f"expired on {ended:%Y-%m-%d}"):
        await loopback_transport.send(get(alerting_server.url(), pem))


# --- the rest of TLS and the guard still hold ----------------------------------


async def test_the_server_certificate_is_still_verified_when_a_client_certificate_is_set(
    client_ca: trustme.CA,
    partner_pem: str,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    untrusted_server_ca = trustme.CA()
    async with aiohttp_mtls_server(client_auth_context(untrusted_server_ca, client_ca)) as server:
        # Only the loopback network is opened; the CA bundle (the test CA) is not.
        transport = make_transport(TransportConfig(allowed_networks=(ip_network("127.0.0.1/32"),)))
        with pytest.raises(TLSError, match="did not verify"):
            await transport.send(get(server.url(), partner_pem))
        assert server.subjects == []


async def test_the_operator_ca_bundle_is_kept_for_requests_with_a_certificate(
    mtls_server: MtlsServer,
    ca_bundle: Path,
    partner_pem: str,
    make_transport: Callable[..., AiohttpTransport],
) -> None:
    # Without the bundle the server's certificate would not verify (see above).
    config = TransportConfig(allowed_networks=(ip_network("127.0.0.1/32"),), ca_bundle=ca_bundle)
    response = await make_transport(config).send(get(mtls_server.url(), partner_pem))
    assert response.status == 200


async def test_the_address_guard_refuses_before_any_certificate_is_presented(
    connections: ConnectionSpy,
    loopback_config: TransportConfig,
    make_transport: Callable[..., AiohttpTransport],
    partner_pem: str,
) -> None:
    transport = make_transport(loopback_config, resolver=ScriptedResolver([["10.0.0.7"]]))
    with pytest.raises(GuardError):
        await transport.send(get("https://partner.test/charge", partner_pem))
    assert connections.attempts == []


# --- a PEM that cannot be used: refused before anything is sent ----------------


async def test_an_unreadable_pem_is_refused_before_connecting_with_every_problem(
    connections: ConnectionSpy, loopback_transport: AiohttpTransport
) -> None:
    with pytest.raises(ClientCertificateError) as caught:
        await loopback_transport.send(get("https://127.0.0.1:9/", "MIIB-not-a-pem"))
    message = str(caught.value)
    assert message.startswith("client_certificate cannot be used: ")
    assert "no certificate found" in message
    assert "no private key found" in message
    assert "MIIB" not in message
    assert connections.attempts == []


async def test_a_key_that_does_not_match_is_refused_without_quoting_either(
    connections: ConnectionSpy,
    loopback_transport: AiohttpTransport,
    client_ca: trustme.CA,
) -> None:
    one = client_ca.issue_cert("one@example.com")
    other = client_ca.issue_cert("other@example.com")
    key = other.private_key_pem.bytes().decode()
    pem = one.cert_chain_pems[0].bytes().decode() + key
    with pytest.raises(ClientCertificateError, match="does not match the certificate") as caught:
        await loopback_transport.send(get("https://127.0.0.1:9/", pem))
    assert key.splitlines()[1] not in str(caught.value)
    assert connections.attempts == []


async def test_no_part_of_the_pem_reaches_the_log(
    mtls_server: MtlsServer,
    loopback_transport: AiohttpTransport,
    partner_pem: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    stranger = client_pem(trustme.CA(), "stranger")
    await loopback_transport.send(get(mtls_server.url(), partner_pem))
    with pytest.raises(ClientCertificateError):
        await loopback_transport.send(get(mtls_server.url(), stranger))
    pem_lines = {
        line
        for text in (partner_pem, stranger)
        for line in text.splitlines()
        if line and not line.startswith("-----")
    }
    logged = caplog.text
    assert not [line for line in pem_lines if line in logged]
