"""POST /v1/curl-imports: a pasted curl command becomes a step; no credential comes back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.api_clients import Service, error_of

FIXTURES = Path(__file__).parents[2] / "fixtures" / "curl"
STRIPE = (FIXTURES / "stripe_charge_create.curl").read_text()
STRIPE_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"


def expected(path: Path) -> Any:
    return json.loads(
        path.with_name(path.name.removesuffix(".curl") + ".expected.json").read_text()
    )


async def test_each_fixture_imports_through_the_api_as_the_parser_reads_it(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    for path in sorted(FIXTURES.glob("*.curl")):
        want = expected(path)
        response = await acme.client.post("/v1/curl-imports", json={"command": path.read_text()})
        if "error" in want:
            error = error_of(response, 422, "invalid_curl_command")
            assert [detail["message"] for detail in error["details"]] == want["error"], path
            continue
        assert response.status_code == 200, (path, response.text)
        answer = response.json()
        assert answer["step"] == want["step"], path
        assert answer["notes"] == want["notes"], path
        assert [{"name": s["name"], "found_in": s["found_in"]} for s in answer["secrets"]] == (
            want["secrets"]
        ), path


async def test_the_answer_names_the_secrets_and_never_holds_the_credential(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    response = await acme.client.post("/v1/curl-imports", json={"command": STRIPE})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"step", "secrets", "notes"}
    assert answer["step"]["auth"] == {
        "type": "basic",
        "username": "{{ secrets.stripe_api_key }}",
    }
    assert answer["secrets"] == [
        {"name": "stripe_api_key", "found_in": "-u user name", "stored": False}
    ]
    assert STRIPE_KEY not in response.text


async def test_a_secret_the_organization_already_has_is_marked_stored(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "stripe_api_key", "value": "x"})
    answer = await acme.ok("POST", "/v1/curl-imports", json={"command": STRIPE})
    assert answer["secrets"][0]["stored"] is True


async def test_the_step_id_can_be_given(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    answer = await acme.ok("POST", "/v1/curl-imports", json={"command": STRIPE, "id": "charge"})
    assert answer["step"]["id"] == "charge"
    response = await acme.client.post(
        "/v1/curl-imports", json={"command": STRIPE, "id": "Not-An-Id"}
    )
    error = error_of(response, 422, "invalid_request")
    assert [detail["path"] for detail in error["details"]] == ["body.id"]


async def test_a_command_it_cannot_read_is_422_with_every_problem_and_no_credential(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    command = (
        "curl https://api.mailgun.net/v3/example.com/messages -u 'api:key-0123456789abcdef0123"
        "456789abcdef' -F to=a@example.com --frobnicate"
    )
    response = await acme.client.post("/v1/curl-imports", json={"command": command})
    error = error_of(response, 422, "invalid_curl_command")
    assert error["message"] == "the curl command cannot be imported (2 problems)"
    assert error["details"] == [
        {
            "path": "body.command",
            "message": "--frobnicate is not an option the import knows: remove it, or import "
            "without it",
        },
        {
            "path": "body.command",
            "message": "-F is not supported: it sends a multipart/form-data body, which callout "
            "does not send (it sends JSON, form (x-www-form-urlencoded) or raw bodies)",
        },
    ]
    assert "key-0123456789abcdef0123456789abcdef" not in response.text


async def test_an_empty_or_unclosed_command_says_why(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    empty = await acme.client.post("/v1/curl-imports", json={"command": "  "})
    assert error_of(empty, 422, "invalid_curl_command")["details"] == [
        {"path": "body.command", "message": "the command is empty: paste a curl command"}
    ]
    unclosed = await acme.client.post(
        "/v1/curl-imports", json={"command": "curl -H 'Authorization: Bearer sk_live_abcdefgh12"}
    )
    error = error_of(unclosed, 422, "invalid_curl_command")
    assert "is never closed" in error["details"][0]["message"]
    assert "sk_live_abcdefgh12" not in unclosed.text


async def test_a_command_over_the_limit_is_refused_without_echoing_it(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    command = "curl https://a.example.com -d " + "sk_live_" + "a" * 1_300_000
    response = await acme.client.post("/v1/curl-imports", json={"command": command})
    error = error_of(response, 422, "invalid_request")
    assert [detail["path"] for detail in error["details"]] == ["body.command"]
    assert "aaaaaaaa" not in response.text


async def test_a_long_command_is_imported_whole(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    text = "x" * 200_000
    command = f"""curl https://a.example.com -d '{{"text": "{text}"}}'"""
    answer = await acme.ok("POST", "/v1/curl-imports", json={"command": command})
    assert answer["step"]["body"] == {"text": text}


async def test_importing_needs_an_api_key(sqlite_service: Service) -> None:
    response = await sqlite_service.client().post("/v1/curl-imports", json={"command": STRIPE})
    error_of(response, 401, "unauthorized")


async def test_the_route_is_in_the_openapi_description(sqlite_service: Service) -> None:
    response = await sqlite_service.client().get("/openapi.json")
    assert response.status_code == 200
    operation = response.json()["paths"]["/v1/curl-imports"]["post"]
    assert operation["summary"] == "Import a curl command as a step"
    assert "422" in operation["responses"]
