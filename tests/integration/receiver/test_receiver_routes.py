"""Each route of the receiver, over real HTTPS with the generated CA trusted."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import aiohttp
import pytest

from callout.receiver import RunningReceiver, start_receiver
from support.receiver_clients import RECEIVER_SECRET, client_for

OBJECT_ID = re.compile(r"usr_[0-9a-f]{16}")


async def test_default_answer_is_200_with_ok_and_received_at(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{receiver.url}/anything?x=1") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    assert body["ok"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["received_at"])
    assert "id" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_default_answer_to_a_write_carries_a_generated_id(
    receiver: RunningReceiver, client: aiohttp.ClientSession, method: str
) -> None:
    async with client.request(method, f"{receiver.url}/users", json={"a": 1}) as response:
        assert response.status == 200
        body = await response.json()
    assert OBJECT_ID.fullmatch(body["id"])


async def test_each_write_gets_a_new_id(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    ids = set()
    for _ in range(3):
        async with client.post(f"{receiver.url}/users", json={}) as response:
            ids.add((await response.json())["id"])
    assert len(ids) == 3


async def test_status_and_json_body_options_shape_the_default_answer(cert_dir: Path) -> None:
    async with (
        await start_receiver(
            secret=RECEIVER_SECRET, cert_dir=cert_dir, status=201, body='{"name": "Ada"}'
        ) as receiver,
        client_for(receiver.ca_path) as client,
    ):
        async with client.post(f"{receiver.url}/users", json={}) as response:
            assert response.status == 201
            body = await response.json()
        assert body["name"] == "Ada"
        assert OBJECT_ID.fullmatch(body["id"])
        async with client.get(f"{receiver.url}/users/1") as response:
            assert await response.json() == {"name": "Ada"}


async def test_a_body_option_that_is_not_json_is_sent_as_text(cert_dir: Path) -> None:
    async with (
        await start_receiver(secret=RECEIVER_SECRET, cert_dir=cert_dir, body="hello") as receiver,
        client_for(receiver.ca_path) as client,
        client.post(f"{receiver.url}/", data=b"x") as response,
    ):
        assert response.content_type == "text/plain"
        assert await response.text() == "hello"


async def test_status_route_answers_that_code(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.post(f"{receiver.url}/status/500", json={}) as response:
        assert response.status == 500
        body = await response.json()
    assert body["status"] == 500
    assert body["ok"] is False
    assert "id" not in body
    async with client.get(f"{receiver.url}/status/404/with/more/path") as response:
        assert response.status == 404


async def test_status_route_204_has_no_body(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.delete(f"{receiver.url}/status/204") as response:
        assert response.status == 204
        assert await response.read() == b""


@pytest.mark.parametrize("path", ["/status/99", "/status/600", "/status/abc", "/status/"])
async def test_status_route_refuses_a_code_outside_200_599(
    receiver: RunningReceiver, client: aiohttp.ClientSession, path: str
) -> None:
    async with client.get(f"{receiver.url}{path}") as response:
        assert response.status == 400
        assert "200-599" in (await response.json())["error"]


async def test_delay_route_waits_then_gives_the_default_answer(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    async with client.post(f"{receiver.url}/delay/0.4", json={}) as response:
        assert response.status == 200
        body = await response.json()
    assert time.monotonic() - started >= 0.4
    assert OBJECT_ID.fullmatch(body["id"])
    assert receiver.requests[-1].note == "after a delay of 0.4 s"


async def test_delay_route_times_out_a_short_client_timeout(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    with pytest.raises(TimeoutError):
        async with client.get(
            f"{receiver.url}/delay/5", timeout=aiohttp.ClientTimeout(total=0.3)
        ) as response:
            await response.read()


@pytest.mark.parametrize("seconds", ["abc", "-1", "301", "nan", "inf"])
async def test_delay_route_refuses_an_invalid_delay(
    receiver: RunningReceiver, client: aiohttp.ClientSession, seconds: str
) -> None:
    async with client.get(f"{receiver.url}/delay/{seconds}") as response:
        assert response.status == 400


async def test_delay_option_delays_every_answer(cert_dir: Path) -> None:
    async with (
        await start_receiver(secret=RECEIVER_SECRET, cert_dir=cert_dir, delay=0.3) as receiver,
        client_for(receiver.ca_path) as client,
    ):
        started = time.monotonic()
        async with client.get(f"{receiver.url}/status/503") as response:
            assert response.status == 503
        assert time.monotonic() - started >= 0.3


async def test_flaky_route_fails_n_times_per_idempotency_key_then_succeeds(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    url = f"{receiver.url}/flaky/2/users"
    statuses = []
    for _ in range(4):
        async with client.post(url, json={}, headers={"Idempotency-Key": "stp_A"}) as response:
            statuses.append(response.status)
            if response.status == 503:
                assert response.headers["Retry-After"] == "1"
            else:
                assert OBJECT_ID.fullmatch((await response.json())["id"])
    assert statuses == [503, 503, 200, 200]

    async with client.post(url, json={}, headers={"Idempotency-Key": "stp_B"}) as response:
        assert response.status == 503
        assert "failure 1 of 2" in (await response.json())["error"]


async def test_flaky_route_counts_per_path_without_an_idempotency_key(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    statuses = []
    for _ in range(2):
        async with client.get(f"{receiver.url}/flaky/1") as response:
            statuses.append(response.status)
    assert statuses == [503, 200]


async def test_flaky_zero_never_fails(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{receiver.url}/flaky/0/x") as response:
        assert response.status == 200


async def test_echo_returns_the_json_body_with_a_generated_id(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    sent = {"email": "ada@example.com", "tags": ["a", "b"], "score": 0.9}
    async with client.post(f"{receiver.url}/echo", json=sent) as response:
        assert response.status == 200
        body = await response.json()
    assert OBJECT_ID.fullmatch(body.pop("id"))
    assert body == sent


async def test_echo_wraps_a_json_value_that_is_not_an_object(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.post(f"{receiver.url}/echo", json=[1, 2]) as response:
        body = await response.json()
    assert body["body"] == [1, 2]
    assert OBJECT_ID.fullmatch(body["id"])


async def test_echo_refuses_a_body_that_is_not_json(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.post(f"{receiver.url}/echo", data=b"not json") as response:
        assert response.status == 400


async def test_requests_are_recorded_with_method_path_headers_and_body(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    raw = json.dumps({"a": 1}).encode()
    headers = {"Idempotency-Key": "stp_1", "Callout-Attempt": "2", "X-Custom": "yes"}
    async with client.put(f"{receiver.url}/users/7?dry=1", data=raw, headers=headers):
        pass
    [seen] = receiver.requests
    assert seen.method == "PUT"
    assert seen.path == "/users/7"
    assert seen.query_string == "dry=1"
    assert seen.header("idempotency-key") == "stp_1"
    assert seen.header("Callout-Attempt") == "2"
    assert seen.body == raw
    assert seen.status == 200
    assert seen.signature.state == "missing"


async def test_a_second_receiver_gets_its_own_port_and_flaky_counts(
    receiver: RunningReceiver, cert_dir: Path
) -> None:
    async with await start_receiver(secret=RECEIVER_SECRET, cert_dir=cert_dir) as other:
        assert other.port != receiver.port
        async with client_for(other.ca_path) as client:
            for expected in (503, 200):
                async with client.get(f"{other.url}/flaky/1") as response:
                    assert response.status == expected
