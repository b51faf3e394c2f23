"""What a failed handshake says about the client certificate, with and without an alert."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest

from callout.http.handshake_notes import (
    client_certificate_refusal,
    noting_handshakes,
    ssl_reason,
    watch_handshakes,
)

WHERE = "api.test:443"
ASKED = (
    f"{WHERE} asked for a client certificate and the step sets none: "
    "set client_certificate to a stored certificate secret"
)


def alert(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] ...")
    error.reason = reason
    return error


def test_certificate_required_says_the_server_asked_even_unnoticed() -> None:
    refusal = client_certificate_refusal(
        "TLSV13_ALERT_CERTIFICATE_REQUIRED", where=WHERE, requested=False, presented=False
    )
    assert refusal == ASKED


@pytest.mark.parametrize(
    "reason", [None, "SSLV3_ALERT_HANDSHAKE_FAILURE", "TLSV1_ALERT_UNKNOWN_CA"]
)
def test_a_request_noticed_and_no_certificate_set_says_the_server_asked(reason: str | None) -> None:
    assert client_certificate_refusal(reason, where=WHERE, requested=True, presented=False) == ASKED


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("TLSV1_ALERT_UNKNOWN_CA", "TLS alert: unknown ca"),
        ("SSLV3_ALERT_BAD_CERTIFICATE", "TLS alert: bad certificate"),
        ("SSLV3_ALERT_CERTIFICATE_EXPIRED", "TLS alert: certificate expired"),
        ("TLSV1_ALERT_ACCESS_DENIED", "TLS alert: access denied"),
        (None, "it closed the connection once it had the certificate"),
    ],
)
def test_a_presented_certificate_refused_names_why(reason: str | None, words: str) -> None:
    refusal = client_certificate_refusal(reason, where=WHERE, requested=True, presented=True)
    assert refusal == f"{WHERE} refused the client certificate ({words})"


def test_an_expired_certificate_says_since_when() -> None:
    refusal = client_certificate_refusal(
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        where=WHERE,
        requested=True,
        presented=True,
        expired_on=datetime(2026, 1, 2, tzinfo=UTC),
    )
    assert refusal is not None
    assert refusal.endswith("; the certificate expired on 2026-01-02")


@pytest.mark.parametrize(
    ("reason", "requested", "presented"),
    [
        (None, False, False),  # a plain dropped connection
        (None, False, True),  # the server never asked: not about the certificate
        ("CERTIFICATE_VERIFY_FAILED", True, True),  # the server's own certificate failed
        ("SSLV3_ALERT_HANDSHAKE_FAILURE", False, False),  # e.g. no common cipher
        ("TLSV1_ALERT_UNKNOWN_CA", False, False),
    ],
)
def test_failures_that_are_not_about_the_client_certificate_are_left_alone(
    reason: str | None, requested: bool, presented: bool
) -> None:
    assert (
        client_certificate_refusal(reason, where=WHERE, requested=requested, presented=presented)
        is None
    )


def test_the_reason_is_found_in_the_causes() -> None:
    outer = ConnectionError("wrapped")
    outer.__cause__ = alert("TLSV1_ALERT_UNKNOWN_CA")
    assert ssl_reason(outer) == "TLSV1_ALERT_UNKNOWN_CA"
    assert ssl_reason(ConnectionResetError()) is None


def test_notes_are_fresh_for_each_block() -> None:
    with noting_handshakes() as first:
        first.certificate_requested = True
    with noting_handshakes() as second:
        assert not second.certificate_requested


def test_the_hook_is_set_unwrapped_and_reads_back_as_set() -> None:
    # Set in the C slot under `ssl`'s wrapper (which made an enum of every number of
    # every TLS record); `ssl` still reads it back as the function that was set.
    context = ssl.create_default_context()
    assert watch_handshakes(context)
    hook = getattr(context, "_msg_callback")  # noqa: B009 - private: mypy does not know it
    slot = getattr(super(ssl.SSLContext, ssl.SSLContext), "_msg_callback")  # noqa: B009
    assert slot.__get__(context) is hook
