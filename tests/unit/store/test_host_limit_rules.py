"""What a per-host limit may say: hosts as the engine keys them, every number in range."""

from __future__ import annotations

import pytest

from callout.steps.https_request.sending import gated_host
from callout.store.delivery import HostLimit
from callout.store.host_limit_rules import host_limit_problems, host_problem, normal_host


@pytest.mark.parametrize(
    ("url", "written"),
    [
        ("https://API.Example.com:8443/v1/users", "API.Example.com"),
        ("https://[::1]:8443/", "[::1]"),
        ("https://10.0.0.7/", "10.0.0.7"),
        ("https://partner_api.example.com/", "partner_api.example.com"),
    ],
)
def test_a_host_is_kept_as_the_engine_keys_the_urls_it_sends_to(url: str, written: str) -> None:
    assert host_problem(written) is None
    assert normal_host(written) == gated_host(url)


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("https://api.example.com", "without a scheme"),
        ("api.example.com:443", "must not carry a port"),
        ("[::1]:443", "not a valid IPv6 address"),
        ("api.example.com/v1", "without a path"),
        ("*.example.com", "only * alone"),
        ("api..example.com", "is not a host name"),
        ("-api.example.com", "is not a host name"),
        ("api.example.com.", "must not end with a dot"),
        ("1.2.3.999", "not a valid IP address"),
        ("bücher.example", "xn--"),
        ("api example.com", "spaces or control characters"),
        ("", "is required"),
        ("a" * 64 + ".example.com", "is not a host name"),
    ],
)
def test_a_host_that_no_url_could_name_is_refused_saying_why(written: str, words: str) -> None:
    problem = host_problem(written)

    assert problem is not None
    assert words in problem


def test_every_problem_of_a_limit_is_named_at_the_callers_paths() -> None:
    limit = HostLimit(
        org_id="org_1",
        host="api.example.com:443",
        max_in_flight=0,
        rate_per_second=0.0,
        burst=10_001,
        breaker_failures=1_001,
        breaker_pause=0.5,
    )

    _, problems = host_limit_problems(limit, names={"host": "HOST", "burst": "--burst"})

    assert [p.path for p in problems] == [
        "HOST",
        "max_in_flight",
        "rate_per_second",
        "--burst",
        "breaker_failures",
        "breaker_pause_seconds",
    ]
    assert problems[2].message == "must be more than 0 and at most 10000, got 0"


def test_a_burst_needs_a_rate() -> None:
    limit = HostLimit(org_id="org_1", host="api.example.com", burst=5)

    _, problems = host_limit_problems(limit, names={"rate_per_second": "--rate"})

    [problem] = problems
    assert problem.path == "burst"
    assert "set --rate too" in problem.message


def test_a_valid_limit_comes_back_with_its_host_lower_case_and_the_edges_allowed() -> None:
    limit = HostLimit(
        org_id="org_1",
        host="API.Example.COM",
        max_in_flight=10_000,
        rate_per_second=10_000.0,
        burst=1,
        breaker_failures=0,
        breaker_pause=86_400.0,
    )

    checked, problems = host_limit_problems(limit)

    assert problems == []
    assert checked.host == "api.example.com"
    assert checked.failures_to_open == 0
