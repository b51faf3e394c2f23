"""docs/ops/: the Prometheus scrape config, its alerts and the Grafana dashboard parse, and name
only metrics a real `/metrics` answers.

The page is scraped through the real route, built the way `callout serve`
builds it (the API's numbers, the due backlog from a SQLite store), with the
worker's numbers in the same registry (under serve they come from its files).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from callout.api.metrics_route import install_metrics
from callout.cli.metrics_options import api_metrics_page
from callout.engine.prometheus_metrics import PrometheusEngineMetrics
from callout.store.database import database_url
from callout.store.sql_store import open_store

OPS = Path(__file__).parents[2] / "docs" / "ops"
METRIC_NAME = re.compile(r"\bcallout_[a-z0-9_]+")


@pytest.fixture
async def scraped_names(tmp_path: Path) -> AsyncIterator[set[str]]:
    """The sample names of a real `/metrics` page (`_total`, `_bucket` and all)."""
    store = await open_store(database_url(str(tmp_path / "callout.db")))
    try:
        page = api_metrics_page(store, worker_files=None)
        PrometheusEngineMetrics(page.registry)
        app = FastAPI()
        install_metrics(app, page)
        transport = httpx.ASGITransport(app=app)  # its client is 127.0.0.1: loopback
        async with httpx.AsyncClient(transport=transport, base_url="http://callout.test") as client:
            assert (await client.get("/metrics")).status_code == 200  # counted by the next
            response = await client.get("/metrics")
        assert response.status_code == 200
        yield {
            sample.name
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }
    finally:
        await store.close()


def expressions(value: Any) -> Iterator[str]:
    """Every `expr` string anywhere in a parsed document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "expr" and isinstance(item, str):
                yield item
            else:
                yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)


def names_in(texts: Iterator[str]) -> set[str]:
    return {name for text in texts for name in METRIC_NAME.findall(text)}


def test_the_scrape_config_is_valid_yaml_that_scrapes_metrics() -> None:
    config = yaml.safe_load((OPS / "prometheus.yml").read_text())
    jobs = config["scrape_configs"]
    assert {job["job_name"] for job in jobs} == {"callout", "callout-workers"}
    for job in jobs:
        assert job["metrics_path"] == "/metrics"
        assert job["authorization"]["type"] == "Bearer"
        assert all(":" in target for target in job["static_configs"][0]["targets"])
    for rules in config["rule_files"]:
        assert (OPS / rules).is_file()


async def test_the_alerts_name_only_metrics_that_exist(scraped_names: set[str]) -> None:
    rules = yaml.safe_load((OPS / "callout-alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert all(rule["alert"] and rule["expr"] for rule in alerts)
    named = names_in(expressions(rules))
    assert named, "the alerts name no callout metric"
    assert named <= scraped_names, f"not on /metrics: {sorted(named - scraped_names)}"


async def test_the_dashboard_is_json_naming_only_metrics_that_exist(
    scraped_names: set[str],
) -> None:
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert all(panel["targets"] for panel in panels)
    named = names_in(expressions(dashboard))
    must_show = {
        "callout_runs_started_total",
        "callout_runs_finished_total",
        "callout_attempts_total",
        "callout_attempt_duration_seconds_bucket",
        "callout_due_step_runs",
        "callout_oldest_due_seconds",
        "callout_worker_slots_in_use",
        "callout_store_errors_total",
    }
    assert must_show <= named
    assert named <= scraped_names, f"not on /metrics: {sorted(named - scraped_names)}"


def test_a_misspelt_name_would_be_caught() -> None:
    assert names_in(iter(["rate(callout_atempts_total[5m])"])) == {"callout_atempts_total"}
