"""Workflows over the API: drafts, publishing, the frozen history, archiving, pinned runs."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from support.api_clients import Org, Service, document, finished_run, working
from support.https_servers import HttpsServer

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def key_id_of(org: Org) -> str:
    """The id of the org's one API key (what `created_by` and `published_by` name)."""
    [key] = await org.ok("GET", "/v1/api-keys")
    return str(key["id"])


async def next_millisecond() -> None:
    """Wait for the clock's millisecond to turn: ids sort by the millisecond they were made."""
    start = int(time.time() * 1000)
    while int(time.time() * 1000) == start:
        await asyncio.sleep(0.001)


async def create(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    return created


async def published(org: Org, doc: dict[str, Any]) -> str:
    """Create and publish a workflow of `doc`; return its id."""
    workflow_id = str((await create(org, doc))["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


async def trigger(org: Org, workflow_id: str, inquiry: str) -> dict[str, Any]:
    started: dict[str, Any] = await org.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": inquiry}}
    )
    return started


async def test_create_makes_a_draft_workflow_whose_version_1_lists_each_problem_with_its_path(
    service: Service,
) -> None:
    acme = await service.org()
    key_id = await key_id_of(acme)
    incomplete = document("https://api.test/users")
    del incomplete["steps"][0]["url"]

    created = await create(acme, incomplete)

    workflow, draft = created["workflow"], created["draft"]
    assert workflow["id"].startswith("wfl_")
    assert workflow["name"] == "Create the user"
    assert workflow["status"] == "draft"
    assert workflow["event"] is None
    assert workflow["live_version"] is None
    assert workflow["draft_version"] == {"id": draft["id"], "number": 1}
    assert workflow["archived_at"] is None
    assert workflow["last_run"] is None
    assert draft["id"].startswith("wflv_")
    assert draft["workflow_id"] == workflow["id"]
    assert draft["number"] == 1
    assert draft["state"] == "draft"
    assert draft["live"] is False
    assert draft["created_by"] == key_id
    assert draft["updated_by"] == key_id
    assert draft["published_at"] is None
    assert draft["published_by"] is None
    assert draft["document"] == incomplete
    assert [p["path"] for p in draft["problems"]] == ["steps[0].url"]
    assert "is required" in draft["problems"][0]["message"]

    valid = await create(acme, document("https://api.test/users"))
    assert valid["draft"]["problems"] == []
    assert valid["workflow"]["status"] == "draft"
    assert valid["draft"]["number"] == 1


async def test_list_filters_by_status_newest_first_and_pages_with_a_cursor(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    ids: dict[str, str] = {}
    for name in ("draft_old", "published", "archived", "draft_new"):
        ids[name] = str(
            (await create(acme, document(https_server.url(f"/{name}"))))["workflow"]["id"]
        )
        await next_millisecond()
    await acme.ok("POST", f"/v1/workflows/{ids['published']}/publish")
    await acme.ok("POST", f"/v1/workflows/{ids['archived']}/publish")
    await acme.ok("POST", f"/v1/workflows/{ids['archived']}/archive")
    newest_first = [ids["draft_new"], ids["archived"], ids["published"], ids["draft_old"]]

    everything = await acme.ok("GET", "/v1/workflows")
    assert [w["id"] for w in everything["data"]] == newest_first
    assert everything["next_cursor"] is None
    for status, expected in (
        ("draft", [ids["draft_new"], ids["draft_old"]]),
        ("published", [ids["published"]]),
        ("archived", [ids["archived"]]),
    ):
        page = await acme.ok("GET", "/v1/workflows", params={"status": status})
        assert [w["id"] for w in page["data"]] == expected, status
        assert {w["status"] for w in page["data"]} == {status}

    first = await acme.ok("GET", "/v1/workflows", params={"limit": 3})
    assert [w["id"] for w in first["data"]] == newest_first[:3]
    assert first["next_cursor"] == newest_first[2]
    second = await acme.ok(
        "GET", "/v1/workflows", params={"limit": 3, "cursor": first["next_cursor"]}
    )
    assert [w["id"] for w in second["data"]] == newest_first[3:]
    assert second["next_cursor"] is None

    assert everything["data"][2]["last_run"] is None
    started = await trigger(acme, ids["published"], "inq_1")
    [listed] = (await acme.ok("GET", "/v1/workflows", params={"status": "published"}))["data"]
    assert listed["last_run"]["id"] == started["run_id"]
    assert listed["last_run"]["status"] == "pending"
    assert ISO_UTC.fullmatch(listed["last_run"]["created_at"])
    await next_millisecond()
    newer = await trigger(acme, ids["published"], "inq_2")
    [listed] = (await acme.ok("GET", "/v1/workflows", params={"status": "published"}))["data"]
    assert listed["last_run"]["id"] == newer["run_id"]
    others = (await acme.ok("GET", "/v1/workflows", params={"status": "draft"}))["data"]
    assert [w["last_run"] for w in others] == [None, None]


async def test_the_last_page_has_no_cursor_even_when_it_is_exactly_full(
    service: Service,
) -> None:
    # PageInfo: next_cursor is "null on the last page".
    acme = await service.org()
    made = []
    for _ in range(4):
        made.append((await create(acme, document("https://api.test/")))["workflow"]["id"])
        await next_millisecond()

    first = await acme.ok("GET", "/v1/workflows", params={"limit": 2})
    second = await acme.ok(
        "GET", "/v1/workflows", params={"limit": 2, "cursor": first["next_cursor"]}
    )

    assert [w["id"] for w in first["data"]] == made[:1:-1]
    assert [w["id"] for w in second["data"]] == made[1::-1]
    assert first["next_cursor"] == made[2]
    assert second["next_cursor"] is None


async def test_saving_the_draft_replaces_it_and_publishing_makes_it_live(
    service: Service,
) -> None:
    acme = await service.org()
    key_id = await key_id_of(acme)
    created = await create(acme, document("https://api.test/first"))
    workflow_id = created["workflow"]["id"]
    v1 = created["draft"]["id"]
    assert await acme.ok("GET", f"/v1/workflows/{workflow_id}") == created["workflow"]

    edited_doc = document("https://api.test/edited")
    saved = await acme.ok(
        "PUT", f"/v1/workflows/{workflow_id}/draft", json={"document": edited_doc}
    )
    assert saved["id"] == v1
    assert saved["number"] == 1
    assert saved["state"] == "draft"
    assert saved["document"] == edited_doc
    assert saved["problems"] == []
    versions = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions")
    assert [v["id"] for v in versions] == [v1]

    published_v1 = await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")

    assert published_v1["id"] == v1
    assert published_v1["number"] == 1
    assert published_v1["state"] == "published"
    assert published_v1["live"] is True
    assert published_v1["published_by"] == key_id
    assert ISO_UTC.fullmatch(published_v1["published_at"])
    workflow = await acme.ok("GET", f"/v1/workflows/{workflow_id}")
    assert workflow["status"] == "published"
    assert workflow["live_version"] == {"id": v1, "number": 1}
    assert workflow["draft_version"] is None
    assert workflow["event"] == "inquiry.completed"
    live = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions/live")
    assert live["id"] == v1
    assert live["document"] == edited_doc
    assert live["problems"] == []
    no_draft = await acme.client.get(f"/v1/workflows/{workflow_id}/versions/draft")
    assert no_draft.status_code == 404
    assert no_draft.json()["error"]["code"] == "not_found"


async def test_an_edit_after_publishing_starts_version_2_and_the_live_version_stays_frozen(
    service: Service,
) -> None:
    acme = await service.org()
    key_id = await key_id_of(acme)
    first_doc = document("https://api.test/first")
    created = await create(acme, first_doc)
    workflow_id = created["workflow"]["id"]
    v1 = created["draft"]["id"]
    published_v1 = await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")

    second_doc = document("https://api.test/second")
    v2 = await acme.ok("PUT", f"/v1/workflows/{workflow_id}/draft", json={"document": second_doc})

    assert v2["id"] != v1
    assert v2["number"] == 2
    assert v2["state"] == "draft"
    assert v2["live"] is False
    assert v2["document"] == second_doc
    live = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions/live")
    assert live["id"] == v1
    assert live["document"] == first_doc
    by_id = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions/{v1}")
    assert by_id["document"] == first_doc
    assert by_id["state"] == "published"
    draft = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions/draft")
    assert draft["id"] == v2["id"]
    assert draft["document"] == second_doc
    workflow = await acme.ok("GET", f"/v1/workflows/{workflow_id}")
    assert workflow["status"] == "published"
    assert workflow["live_version"] == {"id": v1, "number": 1}
    assert workflow["draft_version"] == {"id": v2["id"], "number": 2}

    history = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions")
    assert [(v["id"], v["number"], v["state"], v["live"]) for v in history] == [
        (v2["id"], 2, "draft", False),
        (v1, 1, "published", True),
    ]
    assert [v["created_by"] for v in history] == [key_id, key_id]
    assert [v["published_by"] for v in history] == [None, key_id]
    assert history[0]["published_at"] is None
    assert history[1]["published_at"] == published_v1["published_at"]
    for entry in history:
        assert entry["workflow_id"] == workflow_id
        assert ISO_UTC.fullmatch(entry["created_at"])
        assert ISO_UTC.fullmatch(entry["updated_at"])
        assert "document" not in entry


async def test_publishing_an_invalid_draft_lists_every_problem_and_nothing_goes_live(
    service: Service,
) -> None:
    acme = await service.org()
    broken = document("http://api.test/users", method="FETCH", timeout=0)
    workflow_id = (await create(acme, broken))["workflow"]["id"]

    response = await acme.client.post(f"/v1/workflows/{workflow_id}/publish")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_document"
    paths = [detail["path"] for detail in error["details"]]
    assert {"steps[0].url", "steps[0].method", "steps[0].timeout"} <= set(paths)
    assert len(paths) == 3
    assert error["message"] == "the workflow has 3 problem(s)"
    workflow = await acme.ok("GET", f"/v1/workflows/{workflow_id}")
    assert workflow["status"] == "draft"
    assert workflow["live_version"] is None
    assert workflow["event"] is None
    versions = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions")
    assert [(v["state"], v["published_at"]) for v in versions] == [("draft", None)]
    no_live = await acme.client.get(f"/v1/workflows/{workflow_id}/versions/live")
    assert no_live.status_code == 404


async def test_publish_refuses_a_secret_the_organization_lacks_until_it_is_created(
    service: Service,
) -> None:
    acme = await service.org()
    signed = document("https://api.test/users", secret="{{ secrets.crm_signing }}")
    created = await create(acme, signed)
    workflow_id = created["workflow"]["id"]
    assert [p["path"] for p in created["draft"]["problems"]] == ["steps[0].secret"]

    refused = await acme.client.post(f"/v1/workflows/{workflow_id}/publish")

    assert refused.status_code == 422
    [detail] = refused.json()["error"]["details"]
    assert detail["path"] == "steps[0].secret"
    assert "crm_signing" in detail["message"]
    assert (await acme.ok("GET", f"/v1/workflows/{workflow_id}"))["live_version"] is None

    await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm_signing", "value": "s3cr3t"})
    assert (await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions/draft"))["problems"] == []
    live = await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    assert live["id"] == created["draft"]["id"]
    assert live["state"] == "published"


async def test_an_archived_workflow_refuses_triggers_and_publishes_until_unarchived(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id = await published(acme, document("https://api.test/users"))

    archived = await acme.ok("POST", f"/v1/workflows/{workflow_id}/archive")
    assert archived["status"] == "archived"
    assert archived["archived_at"] is not None
    assert archived["live_version"]["number"] == 1

    refused = await acme.client.post(
        f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": "inq_1"}}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "workflow_archived"
    await acme.ok(
        "PUT", f"/v1/workflows/{workflow_id}/draft", json={"document": document("https://a.test/")}
    )
    not_published = await acme.client.post(f"/v1/workflows/{workflow_id}/publish")
    assert not_published.status_code == 409
    assert not_published.json()["error"]["code"] == "conflict"
    assert (await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions/live"))["number"] == 1
    assert (await acme.ok("GET", "/v1/runs"))["data"] == []

    back = await acme.ok("POST", f"/v1/workflows/{workflow_id}/unarchive")
    assert back["status"] == "published"
    assert back["archived_at"] is None
    assert back["live_version"]["number"] == 1
    started = await trigger(acme, workflow_id, "inq_2")
    assert started["workflow_id"] == workflow_id
    assert started["version_id"] == back["live_version"]["id"]
    assert started["status"] == "pending"


async def test_a_run_started_before_a_publish_finishes_on_the_version_it_started_with(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    created = await create(acme, document(https_server.url("/v1/users")))
    workflow_id = created["workflow"]["id"]
    v1 = created["draft"]["id"]
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    before = await trigger(acme, workflow_id, "inq_before")
    assert before["version_id"] == v1

    v2 = await acme.ok(
        "PUT",
        f"/v1/workflows/{workflow_id}/draft",
        json={"document": document(https_server.url("/v2/users"))},
    )
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    after = await trigger(acme, workflow_id, "inq_after")
    assert after["version_id"] == v2["id"]

    async with working(service):
        first = await finished_run(acme, before["run_id"])
        second = await finished_run(acme, after["run_id"])

    assert first["status"] == "completed"
    assert first["version_id"] == v1
    assert second["status"] == "completed"
    assert second["version_id"] == v2["id"]
    [old] = https_server.hits_on("/v1/users")
    assert old.body == b'{"inquiry":"inq_before"}'
    [new] = https_server.hits_on("/v2/users")
    assert new.body == b'{"inquiry":"inq_after"}'
    assert len(https_server.hits) == 2
