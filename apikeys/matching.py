"""Compile an allowlist once per change, and match a client address against it: the hot path.

Pure Python, no ORM. Entries arrive canonical (see :mod:`apikeys.networks`); an address is
matched with one binary search, whatever the number and shape of the entries.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .networks import ClientAddress

Segments = tuple[tuple[int, ...], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class CompiledAllowlist:
    """An allowlist compiled to disjoint address segments, per IP version.

    Each version holds the sorted first addresses of its segments and, for each segment, the
    payload of the most specific entry covering it (``None`` for a gap). A match is one binary
    search, whatever the number and shape of the entries. An empty allowlist allows every address.
    """

    v4: Segments = ((), ())
    v6: Segments = ((), ())

    @property
    def unrestricted(self) -> bool:
        return not self.v4[0] and not self.v6[0]

    def match(self, address: ClientAddress | None) -> Any:
        """Return the payload of the most specific entry containing ``address``, else ``None``."""
        if address is None:
            return None
        starts, payloads = self.v4 if address.version == 4 else self.v6
        index = bisect_right(starts, address.value) - 1
        return payloads[index] if index >= 0 else None


def _segments(ranges: list[tuple[int, int, int, Any]]) -> Segments:
    """Cut ``(prefixlen, first, last, payload)`` ranges into disjoint, most-specific segments."""
    bounds = sorted({first for _, first, _, _ in ranges} | {last + 1 for _, _, last, _ in ranges})
    payloads = []
    for start in bounds:
        best: tuple[int, Any] | None = None
        for prefixlen, first, last, payload in ranges:
            if first <= start <= last and (best is None or prefixlen > best[0]):
                best = (prefixlen, payload)
        payloads.append(None if best is None else best[1])
    return tuple(bounds), tuple(payloads)


def compile_allowlist(entries: Iterable[tuple[Any, str]]) -> CompiledAllowlist:
    """Compile ``(payload, cidr)`` pairs of canonical entries, once per change.

    :meth:`CompiledAllowlist.match` returns the payload of the matching entry; of equal
    entries, the first wins.
    """
    ranges: dict[int, list[tuple[int, int, int, Any]]] = {4: [], 6: []}
    for payload, cidr in entries:
        network = ipaddress.ip_network(cidr)
        first = int(network.network_address)
        ranges[network.version].append((network.prefixlen, first, first + network.num_addresses - 1, payload))
    return CompiledAllowlist(v4=_segments(ranges[4]), v6=_segments(ranges[6]))
