"""TransportConfig: safe defaults, and every environment variable read or refused clearly."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from callout.http import DEFAULT_MAX_RESPONSE_BYTES, TransportConfig


def test_an_empty_environment_gives_the_safe_defaults() -> None:
    config = TransportConfig.from_env({})
    assert config == TransportConfig()
    assert config.allow_http is False
    assert config.allowed_networks == ()
    assert config.ca_bundle is None
    assert config.max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES == 10 * 1024 * 1024


def test_every_variable_is_read(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    config = TransportConfig.from_env(
        {
            "CALLOUT_ALLOW_HTTP": "1",
            "CALLOUT_ALLOWED_NETWORKS": " 127.0.0.1/32, 10.1.2.0/24  fd00::/8,,",
            "CALLOUT_CA_BUNDLE": str(bundle),
            "CALLOUT_MAX_RESPONSE_BYTES": "1048576",
        }
    )
    assert config.allow_http is True
    assert config.allowed_networks == (
        ip_network("127.0.0.1/32"),
        ip_network("10.1.2.0/24"),
        ip_network("fd00::/8"),
    )
    assert config.ca_bundle == bundle
    assert config.max_response_bytes == 1048576


def test_allow_http_zero_keeps_http_refused() -> None:
    assert TransportConfig.from_env({"CALLOUT_ALLOW_HTTP": "0"}).allow_http is False


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("CALLOUT_ALLOW_HTTP", "yes", "must be 1"),
        ("CALLOUT_ALLOW_HTTP", "true", "must be 1"),
        ("CALLOUT_ALLOWED_NETWORKS", "10.0.0.0/33", "not a network in CIDR form"),
        ("CALLOUT_ALLOWED_NETWORKS", "intranet", "not a network in CIDR form"),
        # A host part set: most likely a typo for a narrower network.
        ("CALLOUT_ALLOWED_NETWORKS", "10.1.2.3/8", "has host bits set"),
        ("CALLOUT_CA_BUNDLE", "/nonexistent/ca.pem", "not an existing PEM file"),
        ("CALLOUT_MAX_RESPONSE_BYTES", "10MB", "whole number of bytes"),
        ("CALLOUT_MAX_RESPONSE_BYTES", "0", "greater than 0"),
        ("CALLOUT_MAX_RESPONSE_BYTES", "-5", "greater than 0"),
    ],
)
def test_a_bad_value_names_the_variable_and_why(variable: str, value: str, why: str) -> None:
    with pytest.raises(ValueError, match=variable) as caught:
        TransportConfig.from_env({variable: value})
    assert why in str(caught.value)


def test_the_config_is_frozen() -> None:
    config = TransportConfig()
    with pytest.raises(AttributeError):
        config.allow_http = True  # type: ignore[misc]


def test_a_cap_of_zero_is_refused_in_code_too() -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        TransportConfig(max_response_bytes=0)
