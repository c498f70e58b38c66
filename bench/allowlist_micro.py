"""Allowlist check against a loop of ``ipaddress`` ``in`` tests over pre-parsed networks.

    python bench/allowlist_micro.py

Both sides get the client address already parsed (Keyfence parses it once per request), and the
matching entry is the last one checked. Sizes 1 to 20 show how the cost grows with the list.

Windows (SPEC §15): the 20-entry check is timed again with entries that carry a window, beside
the same list without windows in the same run; the windowed check must cost at most 2x.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import ALLOWED_IP, ALLOWLIST, BLOCKED_IP

SIZES = (1, 5, 10, 20)


def _per_call_ns(action: Any, number: int, repeat: int = 9) -> float:
    # The fastest repeat: the others differ only by what else the machine was doing.
    return min(timeit.repeat(action, number=number, repeat=repeat)) / number * 1e9


# The matcher's worst case: every entry a different prefix length, so one lookup per entry, and
# the client inside the broadest one, which the loop checks last too.
WORST_CASE = [f"2001:db8:{n}::/{40 + n}" for n in range(4)] + [f"10.{n}.0.0/{16 + n}" for n in range(15, -1, -1)]
WORST_CASE = [str(ipaddress.ip_network(cidr, strict=False)) for cidr in WORST_CASE]


def measure(size: int, address: str, number: int = 20_000, allowlist: list[str] = ALLOWLIST) -> dict[str, Any]:
    """Nanoseconds per check for one allowlist size and client address, both ways."""
    from apikeys.matching import compile_allowlist
    from apikeys.networks import parse_client_address

    entries = allowlist[-size:]
    compiled = compile_allowlist(((None, cidr), cidr) for cidr in entries)
    networks = [ipaddress.ip_network(cidr) for cidr in entries]
    client, plain = parse_client_address(address), ipaddress.ip_address(address)

    def loop() -> Any:
        for network in networks:
            if plain in network:
                return network
        return None

    expected = loop()
    found = compiled.match(client)
    assert (found is None) == (expected is None) and (found is None or found[1] == str(expected))
    keyfence = _per_call_ns(lambda: compiled.match(client), number)
    baseline = _per_call_ns(loop, number)
    return {
        "size": size,
        "matches": found is not None,
        "keyfence_ns": keyfence,
        "ipaddress_ns": baseline,
        "ratio": keyfence / baseline,
    }


def measure_windows(address: str, windowed: int, number: int = 20_000) -> dict[str, Any]:
    """The 20-entry check with the last ``windowed`` entries in an open window, against none."""
    from datetime import UTC, datetime, timedelta

    from apikeys.matching import compile_allowlist
    from apikeys.networks import parse_client_address

    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(days=1)
    entries = ALLOWLIST[-20:]
    plain = compile_allowlist(((None, cidr), cidr) for cidr in entries)
    timed = compile_allowlist(
        ((None, cidr), cidr, *((start, end) if index >= 20 - windowed else (None, None)))
        for index, cidr in enumerate(entries)
    )
    client = parse_client_address(address)
    assert timed.timed and timed.match(client) == plain.match(client)
    # Interleaved rounds, so that both sides see the same machine.
    plain_ns = timed_ns = float("inf")
    for _ in range(3):
        plain_ns = min(plain_ns, _per_call_ns(lambda: plain.match(client), number, repeat=3))
        timed_ns = min(timed_ns, _per_call_ns(lambda: timed.match(client), number, repeat=3))
    return {
        "windowed": windowed,
        "matches": plain.match(client) is not None,
        "plain_ns": plain_ns,
        "windowed_ns": timed_ns,
        "ratio": timed_ns / plain_ns,
    }


def parse_cost(number: int = 20_000) -> dict[str, float]:
    """What parsing the client address once per request costs, for context."""
    from apikeys.networks import parse_client_address

    return {
        "keyfence_parse_ns": _per_call_ns(lambda: parse_client_address(ALLOWED_IP), number),
        "ipaddress_parse_ns": _per_call_ns(lambda: ipaddress.ip_address(ALLOWED_IP), number),
    }


def run(number: int = 20_000) -> dict[str, Any]:
    import django
    from django.conf import settings

    if not settings.configured:  # the matcher needs no database, only importable apps
        settings.configure()
    django.setup()
    rows = [measure(size, ip, number) for size in SIZES for ip in (ALLOWED_IP, BLOCKED_IP)]
    worst = [measure(20, ip, number, WORST_CASE) for ip in ("10.0.0.1", BLOCKED_IP)]
    windows = [measure_windows(ip, windowed, number) for windowed in (1, 20) for ip in (ALLOWED_IP, BLOCKED_IP)]
    return {"rows": rows, "worst": worst, "windows": windows, **parse_cost(number)}


def report(result: dict[str, Any]) -> str:
    lines = [
        "== allowlist check, ns per check (address pre-parsed)",
        f"{'entries':>8} {'client':>9} {'Keyfence':>10} {'ipaddress loop':>15} {'ratio':>7}",
    ]
    for row in result["rows"]:
        client = "match" if row["matches"] else "no match"
        lines.append(
            f"{row['size']:>8} {client:>9} {row['keyfence_ns']:>10.0f} {row['ipaddress_ns']:>15.0f} "
            f"{row['ratio']:>7.3f}"
        )
    for row in result.get("worst", []):
        client = "match" if row["matches"] else "no match"
        lines.append(
            f"{'20 (20 prefix lengths)':>8} {client:>9} {row['keyfence_ns']:>10.0f} "
            f"{row['ipaddress_ns']:>15.0f} {row['ratio']:>7.3f}"
        )
    if result.get("windows"):
        lines.append("== 20 entries, some with a window (not_before, expires_at), against none (target <= 2)")
        lines.append(f"{'windowed':>8} {'client':>9} {'no window':>10} {'windows':>10} {'ratio':>7}")
    for row in result.get("windows", []):
        client = "match" if row["matches"] else "no match"
        times = f"{row['plain_ns']:>10.0f} {row['windowed_ns']:>10.0f}"
        lines.append(f"{row['windowed']:>8} {client:>9} {times} {row['ratio']:>7.2f}")
    lines.append(
        f"parsing the client address once per request: Keyfence {result['keyfence_parse_ns']:.0f} ns, "
        f"ipaddress.ip_address {result['ipaddress_parse_ns']:.0f} ns"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    outcome = run()
    print(json.dumps(outcome) if "--json" in sys.argv else report(outcome), flush=True)
