"""`decide`: the answer for each route, without a server."""

from __future__ import annotations

import json

import pytest

from callout.receiver.behaviour import Arrival, DefaultAnswer, FlakyCounts, decide

T = 1_800_000_000.0


def arrival(
    method: str = "GET", path: str = "/", body: bytes = b"", key: str | None = None
) -> Arrival:
    return Arrival(method=method, path=path, body=body, idempotency_key=key, received_at=T)


def fixed_id() -> str:
    return "usr_0123456789abcdef"


def test_default_answer_of_a_get_has_no_id() -> None:
    answer = decide(DefaultAnswer(), arrival(), FlakyCounts(), fixed_id)
    assert answer.status == 200
    assert json.loads(answer.body) == {"ok": True, "received_at": "2027-01-15T08:00:00.000Z"}


def test_default_answer_of_a_post_puts_the_id_first() -> None:
    answer = decide(DefaultAnswer(), arrival("POST"), FlakyCounts(), fixed_id)
    assert answer.body.startswith(b'{"id":"usr_0123456789abcdef"')


def test_a_failing_default_status_has_ok_false_and_no_id() -> None:
    answer = decide(DefaultAnswer(status=500), arrival("POST"), FlakyCounts(), fixed_id)
    assert json.loads(answer.body) == {"ok": False, "received_at": "2027-01-15T08:00:00.000Z"}


def test_a_given_json_object_keeps_its_own_id() -> None:
    default = DefaultAnswer(body='{"id": "mine"}')
    answer = decide(default, arrival("POST"), FlakyCounts(), fixed_id)
    assert json.loads(answer.body) == {"id": "mine"}


def test_a_given_json_value_that_is_not_an_object_is_sent_as_given() -> None:
    answer = decide(DefaultAnswer(body="[1, 2]"), arrival("POST"), FlakyCounts(), fixed_id)
    assert answer.body == b"[1, 2]"
    assert answer.content_type == "application/json"


@pytest.mark.parametrize("status", [204, 205, 304])
def test_statuses_without_a_body_send_none(status: int) -> None:
    answer = decide(
        DefaultAnswer(status=status, body="x"), arrival("POST"), FlakyCounts(), fixed_id
    )
    assert answer.body == b""
    assert answer.content_type is None


def test_the_delay_option_applies_to_routes_but_delay_route_sets_its_own() -> None:
    default = DefaultAnswer(delay=2.0)
    assert decide(default, arrival(path="/status/503"), FlakyCounts(), fixed_id).delay == 2.0
    assert decide(default, arrival(path="/delay/0.5"), FlakyCounts(), fixed_id).delay == 0.5


def test_flaky_counts_paths_and_keys_apart() -> None:
    counts = FlakyCounts()
    default = DefaultAnswer()
    statuses = [
        decide(default, arrival(path=path, key=key), counts, fixed_id).status
        for path, key in [
            ("/flaky/1/a", "k1"),
            ("/flaky/1/b", "k1"),
            ("/flaky/1/a", "k2"),
            ("/flaky/1/a", "k1"),
        ]
    ]
    assert statuses == [503, 503, 503, 200]


def test_flaky_counts_forget_the_oldest_keys_past_the_limit() -> None:
    counts = FlakyCounts(limit=2)
    assert counts.hit("/flaky/1", "a") == 1
    counts.hit("/flaky/1", "b")
    counts.hit("/flaky/1", "c")
    assert counts.hit("/flaky/1", "a") == 1


@pytest.mark.parametrize(
    "path",
    ["/flaky/x", "/flaky/101", "/flaky/-1", "/flaky/", "/flaky/\u0663", "/flaky/" + "9" * 5000],
)
def test_flaky_refuses_an_invalid_count(path: str) -> None:
    assert decide(DefaultAnswer(), arrival(path=path), FlakyCounts(), fixed_id).status == 400


def test_echo_replaces_an_id_in_the_received_body() -> None:
    answer = decide(
        DefaultAnswer(), arrival("POST", "/echo", b'{"id": 1, "a": 2}'), FlakyCounts(), fixed_id
    )
    assert json.loads(answer.body) == {"id": "usr_0123456789abcdef", "a": 2}


def test_echo_of_an_empty_body_is_just_an_id() -> None:
    answer = decide(DefaultAnswer(), arrival("GET", "/echo/"), FlakyCounts(), fixed_id)
    assert json.loads(answer.body) == {"id": "usr_0123456789abcdef"}


@pytest.mark.parametrize("path", ["/statuses/500", "/echoes", "/delay", "/users/status/500"])
def test_paths_that_only_look_like_routes_get_the_default_answer(path: str) -> None:
    assert decide(DefaultAnswer(), arrival(path=path), FlakyCounts(), fixed_id).status == 200


@pytest.mark.parametrize("status", [199, 600])
def test_a_default_status_outside_200_599_is_refused(status: int) -> None:
    with pytest.raises(ValueError, match="200-599"):
        DefaultAnswer(status=status)


@pytest.mark.parametrize("delay", [-1.0, float("nan"), 301.0])
def test_an_invalid_default_delay_is_refused(delay: float) -> None:
    with pytest.raises(ValueError, match="delay"):
        DefaultAnswer(delay=delay)


@pytest.mark.parametrize("code", ["\u0665\u0660\u0660", "9" * 5000, "+500", " 500"])
def test_status_refuses_codes_that_are_not_plain_digits(code: str) -> None:
    answer = decide(DefaultAnswer(), arrival(path=f"/status/{code}"), FlakyCounts(), fixed_id)
    assert answer.status == 400


def test_echo_refuses_json_nested_too_deep_to_parse() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    answer = decide(DefaultAnswer(), arrival("POST", "/echo", deep), FlakyCounts(), fixed_id)
    assert answer.status == 400
