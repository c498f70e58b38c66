"""Turn a set of client addresses into at most N allowlist entries: the narrowest that fit.

Pure Python, no ORM. :func:`aggregate_addresses` is the one implementation, used by the rollout
assistant's suggestions and by anything else that must pin a key to the addresses it was used from.

The entries never overlap, cover every address, stay within the minimum prefixes (/9 and /33 by
default) and, where the addresses allow it, no broader than /24 (IPv4) or /48 (IPv6). Among the
lists that satisfy that, the one chosen covers the fewest addresses in all, then has the fewest
entries: an exact optimum, found by dynamic programming over the binary trie of the addresses.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .conf import conf
from .networks import parse_client_address

BITS = {4: 32, 6: 128}
# The widest entry suggested while the addresses fit without going broader (SPEC §15).
SOFT_MAX_V4 = 24
SOFT_MAX_V6 = 48


@dataclass(frozen=True, slots=True)
class AddressTraffic:
    """One client address and what was seen from it."""

    ip: str
    requests: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One proposed entry and the traffic it covers."""

    cidr: str
    requests: int
    addresses: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(slots=True)
class _Node:
    """A node of the compressed binary trie: the smallest network holding its leaves."""

    version: int
    network: int
    prefixlen: int
    children: tuple[_Node, _Node] | None
    leaves: int
    # costs[j - 1]: the best cover with at most j entries, as addresses covered << 32 | entries;
    # choices[j - 1]: 0 for "this node as one entry", else the budget given to the first child.
    costs: list[int]
    choices: list[int]


# A cost no cover reaches; the sum of two stays above _IMPOSSIBLE.
_INFINITE = 1 << 400
_IMPOSSIBLE = 1 << 399


class TooSpread(ValueError):
    """The addresses need more entries than allowed, even at the minimum prefixes."""


def aggregate_addresses(
    traffic: Iterable[AddressTraffic | str],
    *,
    limit: int | None = None,
    min_prefix_v4: int | None = None,
    min_prefix_v6: int | None = None,
    soft_max_v4: int = SOFT_MAX_V4,
    soft_max_v6: int = SOFT_MAX_V6,
    best_effort: bool = False,
) -> list[Aggregate]:
    """Cover ``traffic`` (addresses, or :class:`AddressTraffic`) with at most ``limit`` entries.

    ``limit`` and the minimum prefixes default to the allowlist settings (20, /9, /33). Entries
    are no broader than ``soft_max_v4`` / ``soft_max_v6`` unless that is needed to fit in
    ``limit``; to pin addresses as tightly as possible, pass the address length (32 and 128).
    Unparseable addresses are skipped. Entries come sorted, IPv4 first.

    When even the minimum prefixes cannot fit (more than ``limit`` distinct /9s and /33s), raises
    :class:`TooSpread`; with ``best_effort``, the addresses of the blocks at the minimum prefix
    with the fewest requests are left out instead, so that the rest fit.
    """
    limit = conf.MAX_ALLOWLIST_ENTRIES if limit is None else limit
    floors = {
        4: conf.MIN_PREFIX_V4 if min_prefix_v4 is None else min_prefix_v4,
        6: conf.MIN_PREFIX_V6 if min_prefix_v6 is None else min_prefix_v6,
    }
    merged = _merge(traffic)
    if best_effort:
        merged = _busiest_blocks(merged, floors, limit)
    if not merged:
        return []
    soft = {4: max(soft_max_v4, floors[4]), 6: max(soft_max_v6, floors[6])}
    plan = _plan(merged, soft, limit) if _blocks(merged, soft) <= limit else None
    if plan is None and _blocks(merged, floors) <= limit:
        plan = _plan(merged, floors, limit)
    if plan is None:
        raise TooSpread(f"These addresses need more than {limit} entries, even at the minimum prefixes.")
    return [_summarize(version, network, prefixlen, merged[version]) for version, network, prefixlen in plan]


def _merge(traffic: Iterable[AddressTraffic | str]) -> dict[int, dict[int, AddressTraffic]]:
    """Distinct addresses by version and value, their counts and times added up."""
    merged: dict[int, dict[int, AddressTraffic]] = {4: {}, 6: {}}
    for item in traffic:
        row = AddressTraffic(item) if isinstance(item, str) else item
        address = parse_client_address(row.ip)
        if address is None:
            continue
        known = merged[address.version].get(address.value)
        if known is not None:
            row = AddressTraffic(
                address.text,
                known.requests + row.requests,
                _earliest(known.first_seen, row.first_seen),
                _latest(known.last_seen, row.last_seen),
            )
        merged[address.version][address.value] = row
    return {version: rows for version, rows in merged.items() if rows}


def _blocks(merged: dict[int, dict[int, AddressTraffic]], prefixes: dict[int, int]) -> int:
    """How many distinct networks of the given prefix lengths hold the addresses."""
    return sum(
        len({value >> (BITS[version] - prefixes[version]) for value in rows}) for version, rows in merged.items()
    )


def _busiest_blocks(
    merged: dict[int, dict[int, AddressTraffic]], floors: dict[int, int], limit: int
) -> dict[int, dict[int, AddressTraffic]]:
    """Only the addresses of the ``limit`` blocks at the minimum prefixes with the most requests."""
    blocks: dict[tuple[int, int], int] = {}
    for version, rows in merged.items():
        shift = BITS[version] - floors[version]
        for value, row in rows.items():
            blocks[version, value >> shift] = blocks.get((version, value >> shift), 0) + row.requests
    if len(blocks) <= limit:
        return merged
    kept = set(sorted(blocks, key=lambda block: (-blocks[block], block))[:limit])
    result = {
        version: {v: row for v, row in rows.items() if (version, v >> (BITS[version] - floors[version])) in kept}
        for version, rows in merged.items()
    }
    return {version: rows for version, rows in result.items() if rows}


def _plan(merged: dict[int, dict[int, AddressTraffic]], floors: dict[int, int], limit: int) -> list[Any] | None:
    """The best list within ``floors`` (the broadest prefix allowed per version), or ``None``."""
    roots = {version: _build(version, sorted(rows), floors[version], limit) for version, rows in merged.items()}
    options = {
        version: [(j, root.costs[j - 1]) for j in range(1, len(root.costs) + 1)]
        if (root := roots.get(version))
        else [(0, 0)]
        for version in (4, 6)
    }
    best: tuple[int, int, int] | None = None
    for a, cost4 in options[4]:
        for b, cost6 in options[6]:
            cost = cost4 + cost6
            if a + b <= limit and cost < _IMPOSSIBLE and (best is None or cost < best[0]):
                best = (cost, a, b)
    if best is None:
        return None
    plan: list[Any] = []
    for version, budget in ((4, best[1]), (6, best[2])):
        if budget:
            _collect(roots[version], budget, plan)
    return plan


def _build(version: int, values: list[int], floor: int, limit: int) -> _Node:
    """The compressed trie of sorted ``values``, each node with its best covers (post-order)."""
    bits = BITS[version]

    def node(lo: int, hi: int) -> _Node:
        first, last = values[lo], values[hi - 1]
        if lo + 1 == hi:
            return _Node(version, first, bits, None, 1, [1 << 32 | 1], [0])
        differing = (first ^ last).bit_length()
        prefixlen = bits - differing
        network = first >> differing << differing
        middle = bisect_left(values, network | (1 << (differing - 1)), lo, hi)
        left, right = node(lo, middle), node(middle, hi)
        result = _Node(version, network, prefixlen, (left, right), left.leaves + right.leaves, [], [])
        _solve(result, floor, limit)
        return result

    return node(0, len(values))


def _solve(node: _Node, floor: int, limit: int) -> None:
    """Fill ``node.costs``: the best cover of its leaves with at most j entries, j = 1.. ."""
    assert node.children is not None
    left, right = node.children
    lc, rc = left.costs, right.costs
    nl, nr = len(lc), len(rc)
    whole = (1 << (BITS[node.version] - node.prefixlen + 32)) | 1 if node.prefixlen >= floor else _INFINITE
    costs, choices = node.costs, node.choices
    for budget in range(1, min(limit, node.leaves) + 1):
        best, choice = whole, 0
        for a in range(max(1, budget - nr), min(budget - 1, nl) + 1):
            cost = lc[a - 1] + rc[budget - a - 1]
            if cost < best:
                best, choice = cost, a
        if budget > 1 and costs[-1] <= best:
            best, choice = costs[-1], choices[-1]
        costs.append(best)
        choices.append(choice)


def _collect(node: _Node, budget: int, plan: list[Any]) -> None:
    budget = min(budget, len(node.costs))
    choice = node.choices[budget - 1]
    # A budget that gains nothing over a smaller one keeps the smaller one's choice.
    while budget > 1 and node.costs[budget - 2] == node.costs[budget - 1]:
        budget -= 1
        choice = node.choices[budget - 1]
    if choice == 0 or node.children is None:
        plan.append((node.version, node.network, node.prefixlen))
        return
    left, right = node.children
    _collect(left, choice, plan)
    _collect(right, budget - choice, plan)


def _summarize(version: int, network: int, prefixlen: int, rows: dict[int, AddressTraffic]) -> Aggregate:
    size = 1 << (BITS[version] - prefixlen)
    inside = [row for value, row in rows.items() if network <= value < network + size]
    cidr = (ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network)((network, prefixlen))
    first = [row.first_seen for row in inside if row.first_seen is not None]
    last = [row.last_seen for row in inside if row.last_seen is not None]
    return Aggregate(
        cidr=str(cidr),
        requests=sum(row.requests for row in inside),
        addresses=len(inside),
        first_seen=min(first) if first else None,
        last_seen=max(last) if last else None,
    )


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
