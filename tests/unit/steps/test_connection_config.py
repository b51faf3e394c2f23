"""`client_certificate` and `follow_redirects` of make_https_request, and every new field's
problems reported at once."""

from __future__ import annotations

from typing import Any

import pytest

from callout.model.errors import DocumentError
from callout.steps.https_request import HttpsRequestConfig
from callout.steps.validation import validate_workflow

SECRETS = frozenset({"partner_cert", "crm_token"})


def document(**step: Any) -> dict[str, Any]:
    return {
        "name": "connection",
        "steps": [
            {"id": "call", "action": "make_https_request", "url": "https://api.test/"} | step
        ],
    }


def problems(**step: Any) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        validate_workflow(document(**step), secrets=SECRETS)
    return [str(problem) for problem in caught.value.problems]


def config(**step: Any) -> HttpsRequestConfig:
    checked = validate_workflow(document(**step), secrets=SECRETS).steps[0].config
    assert isinstance(checked, HttpsRequestConfig)
    return checked


def test_client_certificate_and_follow_redirects_default_to_none_and_false() -> None:
    checked = config()
    assert (checked.client_certificate, checked.follow_redirects) == (None, False)


def test_client_certificate_is_one_secret_reference() -> None:
    checked = config(client_certificate="{{ secrets.partner_cert }}")
    assert checked.client_certificate == "{{ secrets.partner_cert }}"
    assert validate_workflow(
        document(client_certificate="{{ secrets.partner_cert }}"), secrets=SECRETS
    ).secret_names() == {"partner_cert"}


@pytest.mark.parametrize(
    "value",
    [
        "-----BEGIN CERTIFICATE-----\nMIIB...",
        "{{ trigger.cert }}",
        "{{ secrets.partner_cert }}{{ secrets.crm_token }}",
        ["{{ secrets.partner_cert }}"],
    ],
)
def test_client_certificate_must_be_exactly_one_secret_reference(value: Any) -> None:
    found = problems(client_certificate=value)
    assert len(found) == 1
    assert found[0].startswith("steps[0].client_certificate: must be")
    assert "{{ secrets.partner_cert }}" in found[0]


def test_client_certificate_secret_must_exist() -> None:
    found = problems(client_certificate="{{ secrets.other_cert }}")
    assert len(found) == 1
    assert found[0].startswith(
        "steps[0].client_certificate: {{ secrets.other_cert }}: unknown secret other_cert"
    )


def test_follow_redirects_is_kept() -> None:
    assert config(follow_redirects=True).follow_redirects is True


@pytest.mark.parametrize("value", ["yes", 5, None])
def test_follow_redirects_must_be_true_or_false(value: Any) -> None:
    assert problems(follow_redirects=value) == [
        "steps[0].follow_redirects: must be true or false (true follows up to 5)"
    ]


def test_every_new_fields_problem_is_reported_at_once_with_its_path() -> None:
    found = problems(
        method="GET",
        query=[{"key": "", "value": 1}],
        body_type="form",
        body=[{"key": "a", "value": "b"}],
        content_type="text/xml",
        auth={"type": "bearer", "token": "plain"},
        headers=[{"key": "Authorization", "value": "x"}],
        client_certificate="pem",
        follow_redirects="no",
    )
    paths = [problem.split(":", 1)[0] for problem in found]
    assert paths == [
        "steps[0].body",
        "steps[0].body_type",
        "steps[0].content_type",
        "steps[0].headers[0].key",
        "steps[0].query[0].key",
        "steps[0].query[0].value",
        "steps[0].auth.token",
        "steps[0].client_certificate",
        "steps[0].follow_redirects",
    ]
