"""The caller's organization, its API keys, and the service's open pages: health and docs."""

from __future__ import annotations

import re

from support.api_clients import Service

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def test_the_organization_is_the_one_the_key_belongs_to(service: Service) -> None:
    acme = await service.org("Acme")
    await service.org("Other")

    organization = await acme.ok("GET", "/v1/organization")

    assert organization["id"] == acme.id
    assert organization["name"] == "Acme"
    assert organization["plan"] == "growth"
    assert ISO_UTC.fullmatch(organization["created_at"])
    assert [action["name"] for action in organization["actions"]] == ["make_https_request"]


async def test_a_new_api_key_is_shown_once_works_and_stops_working_when_revoked(
    service: Service,
) -> None:
    acme = await service.org()
    [first] = await acme.ok("GET", "/v1/api-keys")

    made = await acme.ok("POST", "/v1/api-keys", 201, json={"name": "deploys"})

    key = made["key"]
    info = made["api_key"]
    assert key.startswith("callout_")
    assert len(key) > 40
    assert info["id"].startswith("key_")
    assert info["name"] == "deploys"
    assert key.startswith(info["prefix"])
    assert info["prefix"] != key
    assert info["last_used_at"] is None
    assert info["revoked_at"] is None
    listing = await acme.client.get("/v1/api-keys")
    assert listing.status_code == 200
    assert key not in listing.text
    assert acme.key not in listing.text
    assert [(k["id"], k["name"]) for k in listing.json()] == [
        (first["id"], "first key"),
        (info["id"], "deploys"),
    ]
    assert listing.json()[1]["last_used_at"] is None

    deploys = service.client(key)
    organization = await deploys.get("/v1/organization")
    assert organization.status_code == 200
    assert organization.json()["id"] == acme.id
    used = {k["id"]: k for k in await acme.ok("GET", "/v1/api-keys")}
    assert ISO_UTC.fullmatch(used[info["id"]]["last_used_at"])
    assert ISO_UTC.fullmatch(used[first["id"]]["last_used_at"])

    revoked = await acme.ok("DELETE", f"/v1/api-keys/{info['id']}")
    assert revoked["id"] == info["id"]
    assert ISO_UTC.fullmatch(revoked["revoked_at"])
    refused = await deploys.get("/v1/organization")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    again = await acme.ok("DELETE", f"/v1/api-keys/{info['id']}")
    assert again["revoked_at"] == revoked["revoked_at"]
    keys = {k["id"]: k for k in await acme.ok("GET", "/v1/api-keys")}
    assert keys[info["id"]]["revoked_at"] == revoked["revoked_at"]
    assert keys[first["id"]]["revoked_at"] is None
    assert (await acme.ok("GET", "/v1/organization"))["id"] == acme.id


async def test_healthz_answers_without_a_key(sqlite_service: Service) -> None:
    response = await sqlite_service.client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_the_openapi_description_lists_the_v1_paths_and_the_bearer_scheme(
    sqlite_service: Service,
) -> None:
    response = await sqlite_service.client().get("/openapi.json")

    assert response.status_code == 200
    description = response.json()
    assert description["openapi"].startswith("3.")
    assert description["info"]["title"] == "callout"
    paths = description["paths"]
    for path in (
        "/v1/organization",
        "/v1/api-keys",
        "/v1/workflows",
        "/v1/workflows/{workflow_id}/publish",
        "/v1/workflows/{workflow_id}/trigger",
        "/v1/events",
        "/v1/runs/{run_id}",
        "/v1/secrets",
        "/v1/trigger-calls",
    ):
        assert path in paths, path
    schemes = description["components"]["securitySchemes"]
    assert [(s["type"], s["scheme"]) for s in schemes.values()] == [("http", "bearer")]
    [scheme_name] = schemes
    assert paths["/v1/workflows"]["get"]["security"] == [{scheme_name: []}]
    assert "security" not in paths["/healthz"]["get"]


async def test_the_docs_page_loads_only_local_assets(sqlite_service: Service) -> None:
    client = sqlite_service.client()

    page = await client.get("/docs")
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    css = await client.get("/docs/assets/swagger-ui.css")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert "cdn" not in page.text
    assert "jsdelivr" not in page.text
    assert '<script src="/docs/assets/swagger-ui-bundle.js">' in page.text
    assert "url: '/openapi.json'" in page.text
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    assert "SwaggerUIBundle" in bundle.text
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
