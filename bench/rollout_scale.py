"""The rollout assistant at scale: suggestions and simulation for a key with 1,000,000 logged requests.

    python bench/rollout_scale.py --database-url sqlite:////tmp/kf-rollout.sqlite3 --rows 1000000
    python bench/rollout_scale.py --database-url postgres://postgres@127.0.0.1:5432/kf_rollout --rows 1000000

Fills one key's log with ``--rows`` requests in the last 7 days from ``--addresses`` distinct
client addresses (IPv4 in a few networks, some IPv6), then times the two endpoints through Django's
test client with a signed-in session: ``GET .../allowlist/suggestions?days=7`` and
``POST .../allowlist/simulate`` with a 20-entry proposal. It also times the SQL aggregation alone,
so the split between the database and the Python matching is visible. Targets (SPEC §15):
at most 1 s on PostgreSQL and 3 s on SQLite, for both endpoints.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import DEFAULT_SQLITE, setup_django

TARGETS = {"postgresql": 1.0, "sqlite": 3.0}
SPAN = timedelta(days=6, hours=23)  # inside the 7-day window, whenever the timing starts
V6_EVERY = 10  # one address in ten is IPv6


def _address_sql(vendor: str, addresses: int) -> tuple[str, str]:
    """SQL for the client address of row n and its sortable key: ``addresses`` distinct ones."""
    a = f"(n %% {addresses})"
    if vendor == "postgresql":
        v4 = f"'10.' || ({a} / 65536 %% 4 * 40) || '.' || ({a} / 256 %% 256) || '.' || ({a} %% 256)"
        v6 = f"'2001:db8:' || to_hex({a} / 65536 %% 4) || '::' || to_hex({a} %% 65536)"
    else:
        v4 = f"'10.' || ({a} / 65536 %% 4 * 40) || '.' || ({a} / 256 %% 256) || '.' || ({a} %% 256)"
        v6 = f"'2001:db8:' || printf('%%x', {a} / 65536 %% 4) || '::' || printf('%%x', {a} %% 65536)"
    ip = f"CASE WHEN {a} %% {V6_EVERY} = 1 THEN {v6} ELSE {v4} END"
    return (f"({ip})::inet" if vendor == "postgresql" else ip), "''"


def fill(key: Any, rows: int, addresses: int) -> float:
    """Insert ``rows`` log rows of ``key`` in SQL, in chunks; returns the seconds it took.

    The table and column names come from the model, so the fill follows the table wherever it lives.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from usagelogs.models import UsageLog

    meta = UsageLog._meta
    qn = connection.ops.quote_name
    column = {f.name: qn(f.column) for f in meta.concrete_fields}
    names = ["timestamp", "workspace", "api_key", "key_prefix", "method", "path", "status_code", "client_ip"]
    names += ["client_ip_key", "user_agent", "error_code", "decision", "matched_cidr", "response_time_ms"]
    ip, ip_key = _address_sql(connection.vendor, addresses)
    start = timezone.now() - SPAN
    step = SPAN.total_seconds() / rows
    decision = "CASE WHEN n %% 50 = 7 THEN 'would_block' ELSE 'allowed' END"
    if connection.vendor == "postgresql":
        ts, ws, k = f"%s::timestamptz + n * interval '{step} seconds'", "%s::uuid", "%s::uuid"
        series = "FROM generate_series(%s, %s) AS g(n)"
    else:
        ts = f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || (n * {step}) || ' seconds')"
        ws = k = "%s"
        series = "FROM (WITH RECURSIVE g(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM g WHERE n < %s) SELECT n FROM g)"
    values = f"{ts}, {ws}, {k}, %s, 'GET', '/api/v1/orders', 200, {ip}, {ip_key}, 'bench', '', {decision}, '', 1.0"
    sql = f"INSERT INTO {qn(meta.db_table)} ({', '.join(column[n] for n in names)}) SELECT {values} {series}"
    as_param = (lambda v: str(v)) if connection.vendor == "postgresql" else (lambda v: v.hex)
    began = time.perf_counter()
    chunk = 200_000
    for first in range(0, rows, chunk):
        last = min(rows, first + chunk) - 1
        moment = start if connection.vendor == "postgresql" else start.strftime("%Y-%m-%d %H:%M:%S")
        params = [moment, as_param(key.workspace_id), as_param(key.pk), key.prefix, first, last]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {qn(meta.db_table)}")
    return time.perf_counter() - began


def _median_s(action: Any, repeat: int) -> float:
    action()  # warm: connections, caches, compiled statements
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(key: Any, user: Any, repeat: int) -> dict[str, Any]:
    """Median seconds of each endpoint, and of the SQL aggregation alone."""
    from django.test import Client
    from django.utils import timezone

    from usagelogs.traffic import traffic_by_address

    client = Client()
    client.force_login(user)
    base = f"/api/v1/keys/{key.pk}/allowlist"
    suggestions = client.get(f"{base}/suggestions?days=7")
    assert suggestions.status_code == 200, suggestions.content
    proposal = [{"cidr": entry["cidr"]} for entry in suggestions.json()["entries"]]
    simulated = client.post(f"{base}/simulate", {"entries": proposal[:-1], "days": 7}, content_type="application/json")
    assert simulated.status_code == 200, simulated.content
    since = timezone.now() - timedelta(days=7)
    distinct = len(traffic_by_address(workspace_id=key.workspace_id, key_id=key.pk, since=since))
    return {
        "requests": suggestions.json()["requests"],
        "addresses": distinct,
        "suggested": len(proposal),
        "blocked_by_19": simulated.json()["blocked"],
        "sql_s": _median_s(
            lambda: traffic_by_address(workspace_id=key.workspace_id, key_id=key.pk, since=since), repeat
        ),
        "suggestions_s": _median_s(lambda: client.get(f"{base}/suggestions?days=7"), repeat),
        "simulate_s": _median_s(
            lambda: client.post(
                f"{base}/simulate", json.dumps({"entries": proposal, "days": 7}), content_type="application/json"
            ),
            repeat,
        ),
    }


def run(database_url: str, rows: int, addresses: int, repeat: int = 5) -> dict[str, Any]:
    setup_django(database_url)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from apikeys import services
    from apikeys.networks import validate_allowlist

    user = get_user_model().objects.create_user("rollout", "rollout@example.com", "not-used-for-anything")
    key, _ = services.key_create(
        name="rollout",
        actor=services.Actor(user_id=user.pk),
        allowlist=validate_allowlist([{"cidr": "10.0.0.0/16"}]),
        allowlist_mode="report",
    )
    fill_s = fill(key, rows, addresses)
    result = measure(key, user, repeat)
    target = TARGETS.get(connection.vendor, 3.0)
    return {"database": connection.vendor, "rows": rows, "fill_s": fill_s, "target_s": target, **result}


def report(result: dict[str, Any]) -> str:
    target = result["target_s"]
    return "\n".join(
        [
            f"== rollout assistant, {result['database']}: {result['requests']:,} logged requests of one key in 7 days, "
            f"{result['addresses']:,} addresses (filled in {result['fill_s']:.0f} s)",
            f"GROUP BY client_ip alone           {result['sql_s']:.3f} s",
            f"GET  suggestions?days=7            {result['suggestions_s']:.3f} s  (target <= {target:.0f} s: "
            f"{result['suggestions_s'] / target:.2f} of it; {result['suggested']} entries)",
            f"POST simulate, 20 proposed entries {result['simulate_s']:.3f} s  (target <= {target:.0f} s: "
            f"{result['simulate_s'] / target:.2f} of it)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_SQLITE)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    outcome = run(args.database_url, args.rows, args.addresses, args.repeat)
    print(json.dumps(outcome) if args.json else report(outcome), flush=True)


if __name__ == "__main__":
    main()
