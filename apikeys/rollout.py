"""The rollout assistant (SPEC §15): suggest entries from a key's traffic, and replay its traffic
against a proposed list. Reads only; nothing here writes.

The usage-log app aggregates the key's requests by address in SQL (through
:func:`extensions.traffic_by_address`); each distinct address is then matched by
:func:`matching.compile_allowlist`'s matcher, the one requests use. Windows are judged as of now:
the question is what the list would do if it were saved now.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from . import extensions
from .aggregation import AddressTraffic, aggregate_addresses
from .matching import CompiledAllowlist, compile_allowlist
from .models import ApiKey
from .networks import EntryInput, parse_client_address

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 90, 7
TOP_BLOCKED = 20


@dataclass(frozen=True, slots=True)
class _Seen:
    """One distinct address of the key's traffic (``None``: requests from an unknown address)."""

    ip: str | None
    requests: int
    first_seen: datetime
    last_seen: datetime


def _traffic(key: ApiKey, days: int) -> list[_Seen]:
    since = timezone.now() - timedelta(days=days)
    rows = extensions.traffic_by_address(workspace_id=key.workspace_id, key_id=key.pk, since=since) or ()
    return [_Seen(_text(row["client_ip"]), row["requests"], row["first_seen"], row["last_seen"]) for row in rows]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def compiled_current(key: ApiKey) -> CompiledAllowlist:
    """The key's stored list, compiled as requests see it (windows included)."""
    rows = key.entries.values_list("id", "cidr", "not_before", "expires_at")
    return compile_allowlist(((entry_id, cidr), cidr, start, end) for entry_id, cidr, start, end in rows)


def compiled_proposal(entries: Iterable[EntryInput]) -> CompiledAllowlist:
    """A proposed list, compiled the same way."""
    return compile_allowlist((entry.cidr, entry.cidr, entry.not_before, entry.expires_at) for entry in entries)


def _allowed(compiled: CompiledAllowlist, ip: str | None, now: float) -> bool:
    # An empty list allows every address (SPEC §3); an unknown address matches no entry.
    if compiled.unrestricted:
        return True
    return compiled.match(parse_client_address(ip) if ip else None, now) is not None


def suggestions(*, key: ApiKey, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """At most 20 entries covering the addresses the key was used from in the last ``days``.

    Each says whether the key's current list already covers every address in it (``covered``).
    Addresses of the quietest networks are left out only when even /9 and /33 ranges cannot fit
    them all; ``left_out`` counts them.
    """
    seen = [row for row in _traffic(key, days) if row.ip is not None]
    proposal = aggregate_addresses(
        [AddressTraffic(row.ip or "", row.requests, row.first_seen, row.last_seen) for row in seen], best_effort=True
    )
    current, now = compiled_current(key), time.time()
    # An empty list allows everything but covers nothing: no suggestion is "already covered" by it.
    uncovered = [row.ip for row in seen if row.ip and (current.unrestricted or not _allowed(current, row.ip, now))]
    proposed = compile_allowlist((index, entry.cidr) for index, entry in enumerate(proposal))
    open_per_entry: dict[int, int] = {}
    for ip in uncovered:
        index = proposed.match(parse_client_address(ip))
        if index is not None:
            open_per_entry[index] = open_per_entry.get(index, 0) + 1
    entries = [
        {
            "cidr": entry.cidr,
            "requests": entry.requests,
            "addresses": entry.addresses,
            "first_seen": entry.first_seen,
            "last_seen": entry.last_seen,
            "covered": index not in open_per_entry,
        }
        for index, entry in enumerate(proposal)
    ]
    return {
        "days": days,
        "requests": sum(row.requests for row in seen),
        "addresses": len(seen),
        "entries": entries,
        "left_out": _left_out(seen, proposal),
    }


def _left_out(seen: Sequence[_Seen], proposal: Sequence[Any]) -> dict[str, int]:
    compiled = compile_allowlist((True, entry.cidr) for entry in proposal)
    missed = [row for row in seen if compiled.match(parse_client_address(row.ip or "")) is None]
    return {"addresses": len(missed), "requests": sum(row.requests for row in missed)}


def simulate(*, key: ApiKey, entries: Sequence[EntryInput] | None = None, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """Replay the key's requests of the last ``days`` against ``entries`` (``None``: its current list).

    Counts what the list would have allowed and blocked, as if it were enforced and saved now, and
    lists the most-blocked addresses (at most 20, busiest first).
    """
    compiled = compiled_current(key) if entries is None else compiled_proposal(entries)
    now = time.time()
    seen = _traffic(key, days)
    blocked = sorted(
        (row for row in seen if not _allowed(compiled, row.ip, now)),
        key=lambda row: (-row.requests, -row.last_seen.timestamp()),
    )
    total = sum(row.requests for row in seen)
    refused = sum(row.requests for row in blocked)
    return {
        "days": days,
        "requests": total,
        "allowed": total - refused,
        "blocked": refused,
        "addresses": len(seen),
        "blocked_address_count": len(blocked),
        "addresses_blocked": [
            {"ip": row.ip, "requests": row.requests, "last_seen": row.last_seen} for row in blocked[:TOP_BLOCKED]
        ],
    }
