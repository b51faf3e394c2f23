"""IP literals in every spelling a resolver would accept are read as the address they are."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callout.http import parse_ip_literal


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "0x7f.1",
        "0x7F.0.0.1",
        "0x7f000001",
        "2130706433",
        "017700000001",
        "0177.0.0.1",
        "0177.0.0.01",
        "127.0.0.1.",
    ],
)
def test_every_spelling_of_loopback_reads_as_127_0_0_1(host: str) -> None:
    assert parse_ip_literal(host) == IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[64:ff9b::10.0.0.1]", "64:ff9b::a00:1"),
        ("[FD00:EC2::254]", "fd00:ec2::254"),
        ("0", "0.0.0.0"),  # noqa: S104  (an address under test, not a bind)
        ("0x", "0.0.0.0"),  # noqa: S104
        ("4294967295", "255.255.255.255"),
        ("1.2.3.4", "1.2.3.4"),
    ],
)
def test_literals_are_canonicalised(host: str, address: str) -> None:
    assert parse_ip_literal(host) == ip_address(address)


@pytest.mark.parametrize(
    "host", ["api.example.com", "localhost", "1.2.3.example", "0x7f.example", "a1", "xn--nxa"]
)
def test_names_are_left_to_the_resolver(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "1.2.65536",
        "4294967296",
        "08.0.0.1",
        "0x1g.1",
        "1..2",
        "example.123",
        "[::ffff:0x7f.1]",
        "[fe80::1%eth0]",
        "[::1::2]",
        "\u0661\u0662\u0667.0.0.1",  # Arabic-Indic digits are not ASCII numbers
    ],
)
def test_a_host_that_looks_like_an_address_but_is_not_one_is_an_error(host: str) -> None:
    with pytest.raises(ValueError, match=r"not a valid|zone id"):
        parse_ip_literal(host)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_decimal_hex_octal_and_dotted_spellings_agree(value: int) -> None:
    expected = IPv4Address(value)
    octets = expected.packed
    spellings = [
        str(value),
        hex(value),
        "0" + format(value, "o"),
        ".".join(str(b) for b in octets),
        ".".join(hex(b) for b in octets),
        f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}",
        f"{octets[0]}.{octets[1]}.{int.from_bytes(octets[2:], 'big')}",
    ]
    for spelling in spellings:
        assert parse_ip_literal(spelling) == expected, spelling


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_any_ipv6_address_in_brackets_reads_as_itself(value: int) -> None:
    address = IPv6Address(value)
    assert parse_ip_literal(f"[{address}]") == address
    assert parse_ip_literal(f"[{address.exploded}]") == address
