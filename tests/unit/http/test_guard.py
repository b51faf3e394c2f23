"""The address guard on every network of security.md's refused table, and on public addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callout.http import REFUSED_NETWORKS, AddressGuard
from callout.model.errors import GuardError

# reference/security.md, "Refused by default", row by row, written out here
# (not read from the code) so the test cannot agree with a wrong table.
SECURITY_MD_TABLE = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::1/128",
    "fe80::/10",
    "fc00::/7",
    "ff00::/8",
    "2001:db8::/32",
    "2001::/32",
]

# The rows whose rule is "check the embedded IPv4": a private IPv4 inside is
# refused, a public one passes.
EMBEDDED = [
    ("::ffff:10.0.0.1", "::ffff:93.184.216.34"),  # ::ffff:0:0/96, IPv4-mapped
    ("64:ff9b::10.0.0.1", "64:ff9b::93.184.216.34"),  # 64:ff9b::/96, NAT64
    ("64:ff9b:1::10.0.0.1", "64:ff9b:1::93.184.216.34"),  # 64:ff9b:1::/48, NAT64 local use
    ("2002:a00:1::1", "2002:5db8:d822::1"),  # 2002::/16, 6to4
    ("64:ff9b::127.0.0.1", "64:ff9b::1.1.1.1"),
    ("2002:a9fe:a9fe::", "2002:808:808::"),  # 6to4 of 169.254.169.254 / 8.8.8.8
]

PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "151.101.1.69",
    "2606:4700::1",
    "2001:4860:4860::8888",
    "2a00:1450:4001:80b::200e",
]

guard = AddressGuard()


def _samples(cidr: str) -> list[str]:
    network = ip_network(cidr)
    middle = network[network.num_addresses // 2]
    return [str(network[0]), str(middle), str(network[-1])]


@pytest.mark.parametrize("cidr", SECURITY_MD_TABLE)
def test_every_network_of_the_security_table_is_refused_first_middle_and_last(cidr: str) -> None:
    for sample in _samples(cidr):
        with pytest.raises(GuardError, match="refused by the address guard"):
            guard.check_address(sample)


@pytest.mark.parametrize("cidr", SECURITY_MD_TABLE)
def test_the_code_table_holds_every_row_of_the_security_table(cidr: str) -> None:
    assert ip_network(cidr) in {network for network, _ in REFUSED_NETWORKS}


@pytest.mark.parametrize(("refused", "passing"), EMBEDDED)
def test_an_embedded_ipv4_address_decides(refused: str, passing: str) -> None:
    with pytest.raises(GuardError, match=r"embeds .* which is in"):
        guard.check_address(refused)
    guard.check_address(passing)


@pytest.mark.parametrize(
    "address",
    [
        "2001::1",  # Teredo is refused whatever it embeds
        "2001:0:5db8:d822::1",
        "::7f00:1",  # IPv4-compatible (deprecated), which Python calls global
        "::ffff:0:7f00:1",  # IPv4-translated
        "fec0::1",  # site-local (deprecated)
        "100::1",  # discard-only
        "fd00:ec2::254",  # AWS metadata over IPv6
        "169.254.169.254",  # cloud metadata
        "ff02::1",
        "ff0e::1",
        "fe80::1",
        "192.0.0.9",
    ],
)
def test_other_addresses_that_reach_no_public_host_are_refused(address: str) -> None:
    with pytest.raises(GuardError):
        guard.check_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_globally_routable_public_addresses_pass(address: str) -> None:
    guard.check_address(address)
    guard.check_address(ip_address(address))
    assert guard.refusal(ip_address(address)) is None


def test_the_message_says_what_the_address_is_and_how_an_operator_opens_it() -> None:
    with pytest.raises(GuardError) as caught:
        guard.check_address("127.0.0.1")
    assert str(caught.value) == (
        "127.0.0.1 is in 127.0.0.0/8 (loopback), refused by the address guard; "
        "an operator can allow it with CALLOUT_ALLOWED_NETWORKS"
    )


def test_the_message_names_the_host_a_refused_address_was_looked_up_for() -> None:
    with pytest.raises(GuardError, match=r"^metadata\.internal resolves to 169\.254\.169\.254, "):
        guard.check_address("169.254.169.254", host="metadata.internal")


def test_the_refusal_of_an_embedded_address_names_both() -> None:
    reason = guard.refusal(IPv6Address("64:ff9b::a00:1"))
    assert reason == "64:ff9b::a00:1 embeds 10.0.0.1 (NAT64), which is in 10.0.0.0/8 (private)"


@pytest.mark.parametrize("spelling", ["0x7f.1", "2130706433", "017700000001", "127.1", "[::1]"])
def test_odd_spellings_are_read_before_they_are_judged(spelling: str) -> None:
    with pytest.raises(GuardError, match="loopback"):
        guard.check_address(spelling)


@pytest.mark.parametrize("junk", ["api.example.com", "", "1.2.3.4.5", "fe80::1%eth0"])
def test_a_string_that_is_not_an_address_is_refused(junk: str) -> None:
    with pytest.raises(GuardError, match="refused by the address guard"):
        guard.check_address(junk)


def test_opening_127_0_0_1_opens_exactly_that_address() -> None:
    opened = AddressGuard([ip_network("127.0.0.1/32")])
    opened.check_address("127.0.0.1")
    opened.check_address("::ffff:127.0.0.1")  # the same host, over IPv4
    for still_refused in ("127.0.0.2", "::1", "10.0.0.1", "169.254.169.254", "0.0.0.0"):  # noqa: S104
        with pytest.raises(GuardError):
            opened.check_address(still_refused)


def test_an_opened_network_does_not_open_it_through_a_translator() -> None:
    opened = AddressGuard([ip_network("127.0.0.0/8"), ip_network("10.1.2.0/24")])
    for translated in ("64:ff9b::127.0.0.1", "2002:7f00:1::1", "64:ff9b::10.1.2.3"):
        with pytest.raises(GuardError):
            opened.check_address(translated)


def test_an_intranet_network_opens_only_itself() -> None:
    opened = AddressGuard([ip_network("10.1.2.0/24")])
    opened.check_address("10.1.2.77")
    for address in ("10.1.3.1", "10.0.0.1", "192.168.1.1", "127.0.0.1"):
        with pytest.raises(GuardError):
            opened.check_address(address)
    assert opened.allowed_networks == (ip_network("10.1.2.0/24"),)


@st.composite
def refused_address(draw: st.DrawFn) -> IPv4Address | IPv6Address:
    network, _ = draw(st.sampled_from(REFUSED_NETWORKS))
    offset = draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
    return network[offset]


@given(refused_address())
def test_every_address_of_every_refused_network_is_refused(
    address: IPv4Address | IPv6Address,
) -> None:
    assert guard.refusal(address) is not None


@given(refused_address(), refused_address())
def test_opening_one_refused_network_never_opens_an_address_outside_it(
    opened_in: IPv4Address | IPv6Address, other: IPv4Address | IPv6Address
) -> None:
    opened = ip_network(f"{opened_in}/{opened_in.max_prefixlen}")
    partly_open = AddressGuard([opened])
    assert partly_open.refusal(opened_in) is None
    if other != opened_in and not (
        isinstance(other, IPv6Address) and other.ipv4_mapped == opened_in
    ):
        assert partly_open.refusal(other) is not None
