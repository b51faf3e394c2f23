"""Workflows and runs made through the API for the browser tests to look at."""

from __future__ import annotations

from typing import Any

from browser.conftest import Deployment, wait_for


def publish(deployment: Deployment, key: str, name: str, *steps: dict[str, Any]) -> str:
    """Create a workflow of `steps` (triggered through the API), publish it; return its id."""
    with deployment.api(key) as api:
        created = api.post(
            "/v1/workflows", json={"document": {"name": name, "trigger": {}, "steps": list(steps)}}
        )
        assert created.status_code == 201, created.text
        workflow_id = str(created.json()["workflow"]["id"])
        published = api.post(f"/v1/workflows/{workflow_id}/publish")
        assert published.status_code == 200, published.text
    return workflow_id


def start_run(
    deployment: Deployment, key: str, workflow_id: str, payload: dict[str, Any] | None = None
) -> str:
    """Trigger the workflow through the API; return the run's id."""
    with deployment.api(key) as api:
        started = api.post(f"/v1/workflows/{workflow_id}/trigger", json={"payload": payload or {}})
        assert started.status_code == 202, started.text
    return str(started.json()["run_id"])


def finished_run(deployment: Deployment, key: str, run_id: str) -> dict[str, Any]:
    """Wait (polling the API) until the run has finished; return its view."""
    seen: dict[str, Any] = {}

    def finished() -> bool:
        with deployment.api(key) as api:
            seen.update(api.get(f"/v1/runs/{run_id}").json())
        return seen.get("status") in {"completed", "failed", "cancelled"}

    wait_for(finished, f"run {run_id} to finish")
    return seen


def request_step(step_id: str, url: str, **more: Any) -> dict[str, Any]:
    """A Make HTTPS Request step (GET unless `method` says otherwise)."""
    return {"id": step_id, "action": "make_https_request", "url": url, "method": "GET"} | more
