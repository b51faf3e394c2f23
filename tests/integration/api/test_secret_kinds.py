"""Secret kinds over the API: a certificate is checked when stored and shown by subject and expiry.

On SQLite and PostgreSQL (`service`); the PEM is never echoed, in an answer or an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import trustme
from cryptography.hazmat.primitives import serialization

from support.api_clients import Org, Service, error_of

CA = trustme.CA(organization_name="Partner CA")


def leaf_pem(name: str = "partner-client") -> tuple[str, trustme.LeafCert]:
    leaf = CA.issue_cert(f"{name}@example.com", common_name=name)
    return leaf.private_key_and_cert_chain_pem.bytes().decode(), leaf


def body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


async def store_certificate(org: Org, name: str, pem: str) -> Any:
    return await org.ok(
        "POST", "/v1/secrets", 201, json={"name": name, "kind": "certificate", "value": pem}
    )


async def test_a_secret_is_text_by_default_with_no_certificate(service: Service) -> None:
    acme = await service.org()
    created = await acme.ok("POST", "/v1/secrets", 201, json={"name": "token", "value": "t"})
    assert (created["kind"], created["certificate"]) == ("text", None)


async def test_a_certificate_is_stored_and_shown_by_subject_and_expiry_never_its_pem(
    service: Service,
) -> None:
    acme = await service.org()
    pem, leaf = leaf_pem()
    created = await store_certificate(acme, "partner_cert", pem)
    assert created["kind"] == "certificate"
    subject = created["certificate"]["subject"]
    assert subject.startswith("CN=partner-client,")
    not_after = datetime.fromisoformat(created["certificate"]["not_after"])
    assert not_after > datetime.now(UTC)
    for response in (
        await acme.client.get("/v1/secrets"),
        await acme.client.get("/v1/secrets/partner_cert"),
    ):
        assert response.status_code == 200
        assert not [line for line in body_lines(pem) if line in response.text]
    listed = (await acme.client.get("/v1/secrets")).json()
    assert listed == [created]
    assert await acme.ok("GET", "/v1/secrets/partner_cert") == created
    assert leaf  # the PEM came from a real CA


async def test_a_certificate_value_with_problems_is_422_naming_each_and_quoting_none(
    service: Service,
) -> None:
    acme = await service.org()
    pem, _ = leaf_pem()
    certificate_only = pem.split("-----END EC PRIVATE KEY-----\n")[1]
    response = await acme.client.post(
        "/v1/secrets",
        json={"name": "partner_cert", "kind": "certificate", "value": certificate_only},
    )
    error = error_of(response, 422, "invalid_request")
    (detail,) = error["details"]
    assert detail["path"] == "body.value"
    assert "no private key found" in detail["message"]
    assert not [line for line in body_lines(pem) if line in response.text]
    assert (await acme.client.get("/v1/secrets/partner_cert")).status_code == 404


async def test_an_encrypted_key_and_a_bad_name_are_named_together(service: Service) -> None:
    acme = await service.org()
    _, leaf = leaf_pem()
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()
    value = leaf.cert_chain_pems[0].bytes().decode() + encrypted
    response = await acme.client.post(
        "/v1/secrets", json={"name": "1bad", "kind": "certificate", "value": value}
    )
    error = error_of(response, 422, "invalid_request")
    paths = {detail["path"]: detail["message"] for detail in error["details"]}
    assert set(paths) == {"body.name", "body.value"}
    assert "the private key is encrypted; store it unencrypted" in paths["body.value"]


async def test_a_key_that_does_not_match_is_refused(service: Service) -> None:
    acme = await service.org()
    _, one = leaf_pem("one")
    _, other = leaf_pem("other")
    value = one.cert_chain_pems[0].bytes().decode() + other.private_key_pem.bytes().decode()
    response = await acme.client.post(
        "/v1/secrets", json={"name": "c", "kind": "certificate", "value": value}
    )
    (detail,) = error_of(response, 422, "invalid_request")["details"]
    assert "does not match the certificate" in detail["message"]


async def test_an_unknown_kind_is_422(service: Service) -> None:
    acme = await service.org()
    response = await acme.client.post(
        "/v1/secrets", json={"name": "c", "kind": "pem", "value": "x"}
    )
    (detail,) = error_of(response, 422, "invalid_request")["details"]
    assert detail["path"] == "body.kind"


async def test_rotating_a_certificate_keeps_its_kind_checks_the_value_and_shows_the_new_one(
    service: Service,
) -> None:
    acme = await service.org()
    first, _ = leaf_pem("first-client")
    await store_certificate(acme, "partner_cert", first)

    refused = await acme.client.post(
        "/v1/secrets/partner_cert/rotate", json={"value": "not a certificate"}
    )
    (detail,) = error_of(refused, 422, "invalid_request")["details"]
    assert detail["path"] == "body.value"
    assert "no certificate found" in detail["message"]
    assert (await acme.ok("GET", "/v1/secrets/partner_cert"))["version"] == 1

    second, _ = leaf_pem("second-client")
    rotated = await acme.ok(
        "POST", "/v1/secrets/partner_cert/rotate", json={"value": second, "grace_seconds": 0}
    )
    assert (rotated["kind"], rotated["version"]) == ("certificate", 2)
    assert rotated["certificate"]["subject"].startswith("CN=second-client,")
    shown = await acme.ok("GET", "/v1/secrets/partner_cert")
    assert shown["certificate"]["subject"].startswith("CN=second-client,")


async def test_rotating_a_text_secret_takes_any_value(service: Service) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "token", "value": "a"})
    rotated = await acme.ok("POST", "/v1/secrets/token/rotate", json={"value": "not a certificate"})
    assert (rotated["kind"], rotated["certificate"]) == ("text", None)


async def test_the_openapi_description_offers_the_kind_and_shows_the_certificate(
    service: Service,
) -> None:
    acme = await service.org()
    spec = (await acme.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert schemas["NewSecretIn"]["properties"]["kind"]["enum"] == ["text", "certificate"]
    assert "certificate" in schemas["SecretOut"]["properties"]
    assert set(schemas["CertificateOut"]["properties"]) == {"subject", "not_after"}
