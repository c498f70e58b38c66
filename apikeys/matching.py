"""Compile an allowlist once per change, and match a client address against it: the hot path.

Pure Python, no ORM. Entries arrive canonical (see :mod:`apikeys.networks`); an address is
matched with one binary search, whatever the number and shape of the entries.

An entry may have a window (``not_before``, ``expires_at``, SPEC §15). The window is compared
with the clock at match time, never folded into the compiled form, so an entry starts and stops
matching at that instant on every server, whatever the caches hold.
"""

from __future__ import annotations

import ipaddress
import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from time import time as _clock
from typing import Any

from .networks import ClientAddress

Segments = tuple[tuple[int, ...], tuple[Any, ...]]
# A windowed segment's candidates, most specific first: (from, until, payload), epoch seconds.
Candidates = tuple[tuple[float, float, Any], ...]
_ALWAYS = (-math.inf, math.inf)


@dataclass(frozen=True, slots=True)
class CompiledAllowlist:
    """An allowlist compiled to disjoint address segments, per IP version.

    Each version holds the sorted first addresses of its segments and, for each segment, the
    payload of the most specific entry covering it (``None`` for a gap). A match is one binary
    search, whatever the number and shape of the entries. An empty allowlist allows every address.

    When some entry has a window (``timed``), each segment holds instead the entries covering it,
    most specific first, down to the first one without a window; a match takes the first whose
    window holds the current time.
    """

    v4: Segments = ((), ())
    v6: Segments = ((), ())
    timed: bool = False

    @property
    def unrestricted(self) -> bool:
        return not self.v4[0] and not self.v6[0]

    def match(self, address: ClientAddress | None, now: float | None = None) -> Any:
        """Return the payload of the most specific entry containing ``address``, else ``None``.

        An entry outside its window matches nothing; ``now`` (epoch seconds) defaults to the clock.
        """
        if address is None:
            return None
        starts, payloads = self.v4 if address.version == 4 else self.v6
        index = bisect_right(starts, address.value) - 1
        if index < 0:
            return None
        if not self.timed:
            return payloads[index]
        moment = _clock() if now is None else now
        for start, until, payload in payloads[index]:
            if start <= moment < until:
                return payload
        return None


Range = tuple[int, int, int, Any, tuple[float, float]]


def _segments(ranges: list[Range], timed: bool) -> Segments:
    """Cut ``(prefixlen, first, last, payload, window)`` ranges into disjoint, most-specific segments."""
    bounds = sorted({r[1] for r in ranges} | {r[2] + 1 for r in ranges})
    payloads: list[Any] = []
    for start in bounds:
        # Sorted is stable: of equal entries, the first listed wins.
        covering = sorted((r for r in ranges if r[1] <= start <= r[2]), key=lambda r: -r[0])
        if not timed:
            payloads.append(covering[0][3] if covering else None)
            continue
        candidates: list[tuple[float, float, Any]] = []
        for _, _, _, payload, window in covering:
            candidates.append((*window, payload))
            if window == _ALWAYS:
                break  # nothing behind a permanent entry can match first
        payloads.append(tuple(candidates))
    return tuple(bounds), tuple(payloads)


def _epoch(moment: datetime | None, default: float) -> float:
    return default if moment is None else moment.timestamp()


def compile_allowlist(entries: Iterable[tuple[Any, ...]]) -> CompiledAllowlist:
    """Compile ``(payload, cidr)`` or ``(payload, cidr, not_before, expires_at)`` canonical entries.

    Done once per change. :meth:`CompiledAllowlist.match` returns the payload of the matching
    entry; of equal entries, the first wins. ``not_before`` and ``expires_at`` are aware
    datetimes or ``None``; an entry matches from ``not_before`` until just before ``expires_at``.
    """
    ranges: dict[int, list[Range]] = {4: [], 6: []}
    timed = False
    for payload, cidr, *window in entries:
        not_before, expires_at = [*window, None, None][:2]
        span = (_epoch(not_before, -math.inf), _epoch(expires_at, math.inf))
        timed = timed or span != _ALWAYS
        network = ipaddress.ip_network(cidr)
        first = int(network.network_address)
        ranges[network.version].append((network.prefixlen, first, first + network.num_addresses - 1, payload, span))
    return CompiledAllowlist(v4=_segments(ranges[4], timed), v6=_segments(ranges[6], timed), timed=timed)
