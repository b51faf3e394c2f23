"""The attempt log keeps the first 64 KiB of a request body (the request sent was whole)."""

from __future__ import annotations

from callout.model.records import RecordedRequest
from callout.steps.https_request.action import logged_request
from callout.steps.https_request.outcome import RECORDED_BODY_BYTES


def recorded(body: str) -> RecordedRequest:
    return RecordedRequest(method="POST", url="https://api.test/", headers=(), body=body)


def test_a_body_within_the_cap_is_kept_whole_without_a_flag() -> None:
    kept = logged_request(recorded("x" * RECORDED_BODY_BYTES))
    assert kept.body == "x" * RECORDED_BODY_BYTES
    assert "body_truncated" not in kept.to_json()


def test_a_longer_body_is_cut_at_the_cap_on_a_character_boundary() -> None:
    # "é" is two UTF-8 bytes: the cut falls inside one, which is left out.
    body = "a" + "é" * RECORDED_BODY_BYTES
    kept = logged_request(recorded(body))
    assert kept.body_truncated
    assert kept.to_json()["body_truncated"] is True
    assert body.startswith(kept.body)
    assert len(kept.body.encode()) == RECORDED_BODY_BYTES - 1
