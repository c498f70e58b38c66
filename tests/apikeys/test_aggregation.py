"""Addresses to at most N allowlist entries: covered, within the limits, disjoint and minimal."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apikeys.aggregation import AddressTraffic, TooSpread, aggregate_addresses

V4 = st.integers(min_value=0, max_value=2**32 - 1).map(lambda v: str(ipaddress.IPv4Address(v)))
V6 = st.integers(min_value=0, max_value=2**128 - 1).map(lambda v: str(ipaddress.IPv6Address(v)))
# Addresses that crowd into a few networks, as real traffic does, so that merging is exercised.
CLUSTERED_V4 = st.builds(
    lambda block, host: str(ipaddress.IPv4Address((block << 16) | host)),
    st.sampled_from([0x0A00, 0x0A01, 0xCB00, 0xC633, 0xC000, 0x5DB8]),
    st.integers(min_value=0, max_value=2**16 - 1),
)
CLUSTERED_V6 = st.builds(
    lambda block, host: str(ipaddress.IPv6Address((block << 96) | host)),
    st.sampled_from([0x20010DB8, 0x20010DB9, 0x2A030000]),
    st.integers(min_value=0, max_value=2**96 - 1),
)
ADDRESSES = st.lists(st.one_of(V4, V6, CLUSTERED_V4, CLUSTERED_V4, CLUSTERED_V6), min_size=1, max_size=120)


def networks(result: list) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry.cidr) for entry in result]


def canonical(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address as requests are matched: an IPv4-mapped IPv6 address is its IPv4 address."""
    ip = ipaddress.ip_address(address)
    return (ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else ip


def blocks(addresses: list[str], v4: int, v6: int) -> int:
    return len(
        {
            ipaddress.ip_network(f"{ip}/{v4 if ip.version == 4 else v6}", strict=False)
            for ip in map(canonical, addresses)
        }
    )


@example(addresses=["::", "::ffff:0:0"], limit=1)  # a mapped address counts as its IPv4 address
@settings(max_examples=300, deadline=None)
@given(addresses=ADDRESSES, limit=st.integers(min_value=1, max_value=20))
def test_every_address_is_covered_by_disjoint_entries_within_the_limits(addresses: list[str], limit: int) -> None:
    try:
        result = aggregate_addresses(addresses, limit=limit, min_prefix_v4=9, min_prefix_v6=33)
    except TooSpread:
        assert blocks(addresses, 9, 33) > limit
        return
    found = networks(result)
    assert 1 <= len(found) <= limit
    for address in addresses:
        assert sum(canonical(address) in network for network in found) == 1, address
    for network in found:
        assert network.prefixlen >= (9 if network.version == 4 else 33)
    for i, one in enumerate(found):
        for other in found[i + 1 :]:
            assert one.version != other.version or not one.overlaps(other)
    # No broader than /24 and /48 when the addresses fit that way.
    if blocks(addresses, 24, 48) <= limit:
        assert all(network.prefixlen >= (24 if network.version == 4 else 48) for network in found)
    assert sum(entry.addresses for entry in result) == len({canonical(a) for a in addresses})


@settings(max_examples=150, deadline=None)
@given(addresses=ADDRESSES)
def test_best_effort_leaves_out_only_the_quietest_blocks(addresses: list[str]) -> None:
    result = aggregate_addresses(addresses, limit=3, best_effort=True, min_prefix_v4=9, min_prefix_v6=33)
    found = networks(result)
    assert len(found) <= 3
    covered = [a for a in addresses if any(canonical(a) in network for network in found)]
    assert len({ipaddress.ip_network(f"{a}/{9 if ':' not in a else 33}", strict=False) for a in covered}) == min(
        3, blocks(addresses, 9, 33)
    )


def _brute_force(values: list[int], limit: int) -> tuple[int, int]:
    """The smallest (addresses covered, entries) over every disjoint cover of ``values`` in one /24."""
    best = (1 << 40, 0)

    def search(chosen: list[tuple[int, int]], left: list[int]) -> None:
        nonlocal best
        if not left:
            best = min(best, (sum(1 << (32 - p) for _, p in chosen), len(chosen)))
            return
        if len(chosen) == limit:
            return
        for prefix in range(24, 33):
            network = left[0] >> (32 - prefix) << (32 - prefix)
            size = 1 << (32 - prefix)
            if any(n < network + size and network < n + (1 << (32 - p)) for n, p in chosen):
                continue
            search([*chosen, (network, prefix)], [v for v in left if not network <= v < network + size])

    search([], sorted(set(values)))
    return best


@settings(max_examples=120, deadline=None)
@given(
    hosts=st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=7),
    limit=st.integers(min_value=1, max_value=4),
)
def test_the_entries_cover_the_fewest_addresses_possible(hosts: list[int], limit: int) -> None:
    base = int(ipaddress.IPv4Address("203.0.113.0"))
    result = aggregate_addresses(
        [str(ipaddress.IPv4Address(base + h)) for h in hosts], limit=limit, min_prefix_v4=24, soft_max_v4=24
    )
    found = networks(result)
    assert (sum(n.num_addresses for n in found), len(found)) == _brute_force([base + h for h in hosts], limit)


def test_a_few_addresses_stay_single_addresses_and_carry_their_traffic() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC)
    result = aggregate_addresses(
        [
            AddressTraffic("203.0.113.5", 10, early, early),
            AddressTraffic("::ffff:203.0.113.5", 5, late, late),
            AddressTraffic("2001:DB8::1", 2, late, late),
            AddressTraffic("not an address", 99, early, late),
        ]
    )
    assert [(e.cidr, e.requests, e.addresses, e.first_seen, e.last_seen) for e in result] == [
        ("203.0.113.5/32", 15, 1, early, late),
        ("2001:db8::1/128", 2, 1, late, late),
    ]


def test_many_addresses_of_one_office_become_its_networks_not_wider_than_needed() -> None:
    offices = [f"198.51.{third}.{host}" for third in range(30) for host in (1, 2)]
    result = aggregate_addresses(offices)
    assert len(result) == 20
    # Thirty /24s do not fit in 20 entries: eight become a /21 and four a /22, the rest stay /30s.
    assert sum(ipaddress.ip_network(e.cidr).num_addresses for e in result) == 8 * 256 + 4 * 256 + 18 * 4
    assert [e.cidr for e in result][:3] == ["198.51.0.0/21", "198.51.8.0/22", "198.51.12.0/30"]


def test_pinning_tightly_uses_single_addresses_until_they_do_not_fit() -> None:
    assert [e.cidr for e in aggregate_addresses(["192.0.2.1", "192.0.2.2"], soft_max_v4=32)] == [
        "192.0.2.1/32",
        "192.0.2.2/32",
    ]
    with pytest.raises(TooSpread):
        aggregate_addresses([f"{first}.0.0.1" for first in range(1, 40)])
    assert aggregate_addresses([]) == []
