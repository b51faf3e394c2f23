"""The signing secret never leaves in a request: only the HMAC made with it does."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from callout.http import InboundResponse
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.signing import verify
from callout.steps.attempt import AttemptContext
from callout.steps.https_request.config import HttpsRequestConfig
from callout.steps.https_request.request import prepare_request
from callout.steps.validation import validate_workflow
from callout.templates import Scope

CURRENT = 'sig "current" +/=%é'
PREVIOUS = "sig-previous-value"


def spellings(value: str) -> list[bytes]:
    raw = value.encode()
    return [
        raw,
        quote(value, safe="").encode(),
        quote_plus(value, safe="").encode(),
        json.dumps(value)[1:-1].encode(),
        json.dumps(value, ensure_ascii=False)[1:-1].encode(),
        base64.b64encode(raw),
        raw.hex().encode(),
    ]


def test_neither_the_signing_secret_nor_its_previous_value_is_in_the_request() -> None:
    document = {
        "name": "signed",
        "steps": [
            {
                "id": "a",
                "action": "make_https_request",
                "url": "https://api.test/hook?x={{ trigger.x }}",
                "headers": [{"key": "X-Seen", "value": "{{ trigger.x }}"}],
                "body": {"x": "{{ trigger.x }}", "run": "{{ run.id }}"},
                "secret": "{{ secrets.sig }}",
            }
        ],
    }
    config = validate_workflow(document).steps[0].config
    assert isinstance(config, HttpsRequestConfig)
    scope = Scope(
        trigger={"x": "payload"},
        steps={},
        secrets={"sig": CURRENT},
        run={"id": "wfr_1"},
        previous_secrets={"sig": PREVIOUS},
    )
    context = AttemptContext(
        transport=MockTransport(lambda _: InboundResponse(200, (), b"")),
        clock=ManualClock(1_800_000_000.0),
        run_id="wfr_1",
        step_run_id="stp_1",
        attempt_number=1,
    )

    prepared = prepare_request(config, scope, context)

    sent = prepared.outbound
    wire = b"\n".join(
        [
            sent.url.encode(),
            *(f"{name}: {value}".encode() for name, value in sent.headers),
            sent.body,
        ]
    )
    for secret in (CURRENT, PREVIOUS):
        assert [form for form in spellings(secret) if form in wire] == []
        signature = dict(sent.headers)["Persona-Signature"]
        assert verify(signature, sent.body, secret, tolerance=10**9)
