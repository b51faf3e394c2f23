"""The secrets page with a client certificate: uploaded or pasted, checked, shown by subject."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from playwright.sync_api import Page, expect

from browser.conftest import Deployment, screenshot, sign_in


def body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_a_certificate_is_uploaded_as_two_files_shown_by_subject_and_rotated_by_paste(
    page: Page, deployment: Deployment, tmp_path: Path
) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("partner@example.com", common_name="partner-client")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert_file))
    leaf.private_key_pem.write_to_path(str(key_file))
    key = deployment.org("Certificate Keepers", "growth")
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/secrets")

    page.get_by_label("Name", exact=True).fill("partner_cert")
    page.get_by_label("Kind").select_option("certificate")
    expect(page.get_by_label("Value", exact=True)).to_be_hidden()
    page.get_by_label("Or upload PEM files (certificate and key)").set_input_files(
        [str(cert_file), str(key_file)]
    )
    expect(page.get_by_label("Certificate and key (PEM)")).to_have_value(
        re.compile("BEGIN CERTIFICATE.*BEGIN EC PRIVATE KEY", re.DOTALL)
    )
    page.get_by_role("button", name="Add secret").click()
    expect(page.get_by_text("Certificate partner_cert stored")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("partner_cert")).first
    expect(row).to_contain_text("certificate")
    expect(row).to_contain_text("CN=partner-client")
    expect(row).to_contain_text("expires")
    screenshot(page, "secrets-certificate")

    page.get_by_role("button", name="Rotate partner_cert").click()
    page.get_by_label("New certificate and key for partner_cert").fill("not a certificate")
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("no certificate found")

    second = ca.issue_cert("second@example.com", common_name="second-client")
    pasted = second.private_key_and_cert_chain_pem.bytes().decode()
    page.get_by_label("New certificate and key for partner_cert").fill(pasted)
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.get_by_text("Certificate partner_cert rotated.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("partner_cert")).first
    expect(row).to_contain_text("CN=second-client")
    expect(row).to_contain_text("v2")
    html = page.content()
    key_lines = body_lines(leaf.private_key_pem.bytes().decode())
    key_lines += body_lines(second.private_key_pem.bytes().decode())
    assert not [line for line in key_lines if line in html]


def test_a_certificate_without_its_key_is_refused_on_its_field(
    page: Page, deployment: Deployment
) -> None:
    leaf = trustme.CA().issue_cert("lonely@example.com")
    key = deployment.org("Half Certificates", "growth")
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/secrets")
    page.get_by_label("Name", exact=True).fill("half")
    page.get_by_label("Kind").select_option("certificate")
    page.get_by_label("Certificate and key (PEM)").fill(leaf.cert_chain_pems[0].bytes().decode())
    page.get_by_role("button", name="Add secret").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("body.value")
    expect(alert).to_contain_text("no private key found")
    expect(page.get_by_text("No secrets yet")).to_be_visible()


def test_a_certificate_near_its_expiry_is_flagged(page: Page, deployment: Deployment) -> None:
    soon = datetime.now(UTC) + timedelta(days=10)
    leaf = trustme.CA().issue_cert("soon@example.com", common_name="soon-client", not_after=soon)
    key = deployment.org("Expiring Certificates", "growth")
    with deployment.api(key) as api:
        stored = api.post(
            "/v1/secrets",
            json={
                "name": "soon_cert",
                "kind": "certificate",
                "value": leaf.private_key_and_cert_chain_pem.bytes().decode(),
            },
        )
        assert stored.status_code == 201, stored.text
    sign_in(page, deployment, key)
    page.goto(f"{deployment.base_url}/secrets")
    row = page.get_by_role("row", name=re.compile("soon_cert")).first
    expect(row).to_contain_text("CN=soon-client")
    expect(row).to_contain_text("expires soon")
