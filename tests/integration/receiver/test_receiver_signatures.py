"""The receiver's verdict on each request's signature, as recorded and as printed."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp

from callout.receiver import ReceivedRequest, RunningReceiver, format_request, start_receiver
from callout.signing import sign
from support.receiver_clients import RECEIVER_SECRET, client_for

BODY = b'{"inquiry":"inq_123","email":"ada@example.com"}'


async def post_signed(
    client: aiohttp.ClientSession, url: str, header: str, *, name: str = "Persona-Signature"
) -> None:
    headers = {name: header, "Content-Type": "application/json", "Idempotency-Key": "stp_9"}
    async with client.post(url, data=BODY, headers=headers) as response:
        assert response.status == 200


def shown(received: ReceivedRequest, name: str = "Persona-Signature") -> str:
    return format_request(received, signature_header=name, hide=[RECEIVER_SECRET])


async def test_a_good_signature_is_ok(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    header = sign(BODY, [RECEIVER_SECRET], timestamp=int(time.time()))
    await post_signed(client, f"{receiver.url}/users", header)
    [seen] = receiver.requests
    assert seen.signature.ok
    assert seen.signature.timestamp == int(header.split(",")[0][2:])
    text = shown(seen)
    assert "signature ok (t=" in text
    assert "Idempotency-Key: stp_9" in text
    assert f"Persona-Signature: {header}" in text
    assert "POST /users  -> 200" in text


async def test_a_signature_made_with_another_secret_is_invalid(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    header = sign(BODY, ["another-secret"], timestamp=int(time.time()))
    await post_signed(client, f"{receiver.url}/users", header)
    [seen] = receiver.requests
    assert seen.signature.state == "invalid"
    assert "no signature matches" in seen.signature.reason
    assert "signature INVALID: no signature matches" in shown(seen)


async def test_a_stale_signature_is_invalid_with_its_age(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    header = sign(BODY, [RECEIVER_SECRET], timestamp=int(time.time()) - 3600)
    await post_signed(client, f"{receiver.url}/users", header)
    assert "signature INVALID: timestamp too old" in shown(receiver.requests[0])


async def test_a_malformed_signature_is_invalid(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    await post_signed(client, f"{receiver.url}/users", "sha256=abc")
    assert "signature INVALID: malformed signature header" in shown(receiver.requests[0])


async def test_a_request_without_the_header_says_so(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{receiver.url}/users"):
        pass
    assert "no signature header" in shown(receiver.requests[0])


async def test_either_secret_of_a_rotation_verifies(cert_dir: Path) -> None:
    async with (
        await start_receiver(secret=["new-secret", "old-secret"], cert_dir=cert_dir) as receiver,
        client_for(receiver.ca_path) as client,
    ):
        now = int(time.time())
        await post_signed(client, receiver.url, sign(BODY, ["old-secret"], timestamp=now))
        await post_signed(
            client, receiver.url, sign(BODY, ["new-secret", "old-secret"], timestamp=now)
        )
        assert [r.signature.state for r in receiver.requests] == ["ok", "ok"]


async def test_another_signature_header_name_is_read(cert_dir: Path) -> None:
    async with (
        await start_receiver(
            secret=RECEIVER_SECRET, cert_dir=cert_dir, signature_header="X-Signature"
        ) as receiver,
        client_for(receiver.ca_path) as client,
    ):
        header = sign(BODY, [RECEIVER_SECRET], timestamp=int(time.time()))
        await post_signed(client, receiver.url, header, name="X-Signature")
        assert receiver.requests[0].signature.ok
        assert "X-Signature: t=" in shown(receiver.requests[0], "X-Signature")


async def test_without_a_secret_signatures_are_shown_not_checked(cert_dir: Path) -> None:
    async with (
        await start_receiver(secret=[], cert_dir=cert_dir) as receiver,
        client_for(receiver.ca_path) as client,
    ):
        await post_signed(client, receiver.url, sign(BODY, ["x"], timestamp=int(time.time())))
        assert receiver.requests[0].signature.state == "unchecked"
        assert "signature not checked" in shown(receiver.requests[0])


async def test_the_secret_is_never_printed_even_when_the_body_holds_it(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    body = f'{{"leak":"{RECEIVER_SECRET}"}}'.encode()
    headers = {"Persona-Signature": sign(body, [RECEIVER_SECRET], timestamp=int(time.time()))}
    async with client.post(f"{receiver.url}/echo", data=body, headers=headers):
        pass
    text = shown(receiver.requests[0])
    assert RECEIVER_SECRET not in text
    assert "[redacted]" in text


async def test_a_long_body_is_cut_for_display_but_recorded_whole(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    body = b'{"x":"' + b"a" * 5000 + b'"}'
    async with client.post(f"{receiver.url}/", data=body):
        pass
    seen = receiver.requests[0]
    assert seen.body == body
    assert f"... ({len(body)} bytes in all)" in shown(seen)
    assert len(shown(seen)) < 1000


async def test_control_characters_in_a_request_are_escaped_for_display(
    receiver: RunningReceiver, client: aiohttp.ClientSession
) -> None:
    async with client.post(f"{receiver.url}/", data=b"line\x1b[31mred\nnext"):
        pass
    text = shown(receiver.requests[0])
    assert "\x1b" not in text
    assert "\\x1b[31mred\\nnext" in text
