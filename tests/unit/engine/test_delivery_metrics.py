"""Delivery control's numbers: deferrals by kind (worker), paused hosts read when scraped (API).

The paused hosts come from a reader standing in for `DeliveryRecords.paused_hosts`
(its SQL is proven by the store's tests and tests/integration/durable/test_circuit_breaker.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from callout.engine.metrics import NoMetrics
from callout.engine.metrics_exposition import MetricsPage, PausedHostsCollector
from callout.engine.prometheus_metrics import MAX_HOSTS, PrometheusEngineMetrics
from callout.store.delivery import BreakerState, HostState
from callout.store.protocol import StoreUnavailable


def paused(host: str, org_id: str = "org_1", *, half_open: bool = False) -> HostState:
    state = BreakerState.HALF_OPEN if half_open else BreakerState.OPEN
    return HostState(org_id=org_id, host=host, breaker=state, consecutive_failures=5)


class PausedReader:
    """What `paused_hosts()` answers, counted; it may be made to fail."""

    def __init__(self, *hosts: HostState) -> None:
        self.hosts = list(hosts)
        self.reads = 0
        self.failing = False

    async def __call__(self) -> list[HostState]:
        self.reads += 1
        if self.failing:
            raise StoreUnavailable("the database is unavailable")
        return self.hosts


def test_deferrals_are_counted_by_kind_from_zero() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusEngineMetrics(registry)
    for kind in ("in_flight", "rate", "breaker"):
        assert registry.get_sample_value("callout_deferrals_total", {"kind": kind}) == 0
    metrics.deferred("rate")
    metrics.deferred("rate")
    metrics.deferred("breaker")
    assert registry.get_sample_value("callout_deferrals_total", {"kind": "rate"}) == 2
    assert registry.get_sample_value("callout_deferrals_total", {"kind": "breaker"}) == 1
    NoMetrics().deferred("in_flight")  # the no-op accepts it too


async def test_paused_hosts_are_counted_without_naming_them_unless_asked() -> None:
    reader = PausedReader(paused("a.test"), paused("a.test", "org_2"), paused("b.test"))
    registry = CollectorRegistry()
    page = MetricsPage(registry, paused_hosts=PausedHostsCollector(reader, every=3600))
    text = (await page.render()).decode()
    assert registry.get_sample_value("callout_paused_hosts") == 3
    assert "a.test" not in text
    assert "callout_host_breaker" not in text
    await page.render()
    assert reader.reads == 1  # read at most once per period


async def test_paused_hosts_by_host_when_opted_in_name_at_most_max_hosts() -> None:
    many = [paused(f"h{number}.test") for number in range(MAX_HOSTS + 3)]
    reader = PausedReader(*many, paused("h0.test", "org_2", half_open=True))
    registry = CollectorRegistry()
    page = MetricsPage(
        registry, paused_hosts=PausedHostsCollector(reader, every=0, host_labels=True)
    )
    await page.render()

    def breaker(host: str, state: str) -> float | None:
        return registry.get_sample_value("callout_host_breaker", {"host": host, "state": state})

    assert breaker("h0.test", "open") == 1
    assert breaker("h0.test", "half_open") == 1
    assert breaker("other", "open") == 3
    assert registry.get_sample_value("callout_paused_hosts") == MAX_HOSTS + 4


async def test_paused_hosts_that_cannot_be_read_have_no_sample_until_read_again() -> None:
    reader = PausedReader(paused("a.test"))
    reader.failing = True
    registry = CollectorRegistry()
    page = MetricsPage(registry, paused_hosts=PausedHostsCollector(reader, every=0))
    text = (await page.render()).decode()
    assert "# TYPE callout_paused_hosts gauge" in text
    assert registry.get_sample_value("callout_paused_hosts") is None
    reader.failing = False
    await page.render()
    assert registry.get_sample_value("callout_paused_hosts") == 1
    assert b"callout_paused_hosts 1.0" in generate_latest(registry)
