"""Pin a key to the addresses it was used from (SPEC §17): each address as a /32 or /128 entry, and
only when there are more than fit in the list, the narrowest ranges that cover them all.

Merging is greedy over the sorted addresses of each family: each step replaces the two neighbours
whose covering range is the narrowest by that range (and whatever else it covers), so the ranges
widen only as much as the limit forces. A heap over neighbouring pairs keeps it O(n log n) for the
many thousands of addresses a busy key may have used in a week.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Iterable

from .conf import conf

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CannotPin(ValueError):
    """The addresses cannot fit in the list without a range wider than the allowed minimum prefix."""


def _cover(first: Network, second: Network) -> Network:
    """The narrowest network holding both."""
    prefix = min(first.prefixlen, second.prefixlen)
    low, high = int(first.network_address), int(second.broadcast_address)
    bits = first.max_prefixlen
    while prefix > 0 and (low >> (bits - prefix)) != (high >> (bits - prefix)):
        prefix -= 1
    return first.supernet(new_prefix=prefix) if prefix < first.prefixlen else first


def _within(inner: Network, outer: Network) -> bool:
    return (
        inner.version == outer.version
        and int(inner.network_address) >= int(outer.network_address)
        and int(inner.broadcast_address) <= int(outer.broadcast_address)
    )


def _minimum(network: Network) -> int:
    return conf.MIN_PREFIX_V4 if network.version == 4 else conf.MIN_PREFIX_V6


def pin_addresses(addresses: Iterable[str], *, limit: int) -> list[str]:
    """At most ``limit`` non-overlapping CIDRs covering every address, as narrow as that allows.

    Raises :class:`CannotPin` when fitting would need a range wider than /9 (IPv4) or /33 (IPv6).
    """
    hosts = sorted(
        {ipaddress.ip_network(address) for address in addresses},
        key=lambda network: (network.version, int(network.network_address)),
    )
    if len(hosts) <= limit:
        return [str(network) for network in hosts]
    # A doubly linked list of the current ranges, in address order, and a heap of neighbour pairs
    # keyed by how narrow their cover is (widest prefix first); stale pairs are skipped when popped.
    nets: list[Network | None] = list(hosts)
    after = list(range(1, len(nets) + 1))
    before = list(range(-1, len(nets) - 1))
    heap: list[tuple[int, int, int]] = []

    def push(left: int) -> None:
        right = after[left]
        first, second = nets[left], nets[right] if right < len(nets) else None
        if first is not None and second is not None and first.version == second.version:
            heapq.heappush(heap, (-_cover(first, second).prefixlen, left, right))

    for index in range(len(nets) - 1):
        push(index)
    count = len(nets)
    while count > limit:
        if not heap:
            raise CannotPin("The addresses cannot be merged into few enough ranges.")
        _, left, right = heapq.heappop(heap)
        first, second = nets[left], nets[right]
        if first is None or second is None or after[left] != right:
            continue  # a stale pair: one side has been merged since
        merged = _cover(first, second)
        if merged.prefixlen < _minimum(merged):
            raise CannotPin(f"Fitting the addresses in {limit} entries would need a range wider than allowed.")
        nets[left], nets[right] = merged, None
        after[left] = after[right]
        count -= 1
        # The wider range may now cover neighbours on either side too.
        while before[left] >= 0:
            previous = nets[before[left]]
            if previous is None or not _within(previous, merged):
                break
            nets[before[left]] = None
            before[left] = before[before[left]]
            count -= 1
        if before[left] >= 0:
            after[before[left]] = left
        while after[left] < len(nets):
            following = nets[after[left]]
            if following is None or not _within(following, merged):
                break
            nets[after[left]] = None
            after[left] = after[after[left]]
            count -= 1
        if after[left] < len(nets):
            before[after[left]] = left
        push(left)
        if before[left] >= 0:
            push(before[left])
    return [str(network) for network in nets if network is not None]
