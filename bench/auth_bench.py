"""Time one DRF view behind each authentication design, in interleaved rounds, in one process.

    python bench/auth_bench.py [--database-url URL] [--redis-url URL] [--rounds N] [--per-round N]
                               [--persistent-connections | --conn-max-age SECONDS]

Prints the median microseconds per request of each variant, the ratios the targets are about,
and the SQL statements per request over 1,000 requests, the log writer's included.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import ALLOWED_IP, BLOCKED_IP, DEFAULT_SQLITE, create_keys, setup_django

LABELS = {
    "plain": "1 plain APIView, no auth (floor)",
    "token": "2 DRF TokenAuthentication",
    "drf_api_key": "3 djangorestframework-api-key HasAPIKey",
    "token_log": "4 Token + synchronous log INSERT",
    "keyfence": "5 Keyfence, allowed (20 entries, log on)",
    "keyfence_blocked": "6 Keyfence, blocked (403)",
    "keyfence_is_authenticated": "7 Keyfence + DRF IsAuthenticated, allowed",
    "keyfence_limited": "8 Keyfence, allowed, with a rate limit and quota",
}
# Query counts: the Keyfence variants, and Token for comparison.
COUNTED = ("token", "keyfence", "keyfence_blocked", "keyfence_is_authenticated", "keyfence_limited")
EXPECTED = {"keyfence_blocked": 403}


def limited_key() -> str:
    """Variant 5's key with limits no run reaches, so every request is counted and none refused."""
    from django.contrib.auth import get_user_model

    from apikeys import services
    from apikeys.networks import validate_allowlist
    from bench.fixtures import ALLOWLIST

    user = get_user_model().objects.get(username="bench")
    return services.key_create(
        name="bench limited",
        actor=services.Actor(user_id=user.pk),
        allowlist=validate_allowlist([{"cidr": cidr} for cidr in ALLOWLIST]),
        rate_limit={"requests": 1_000_000, "per": "second"},
        monthly_quota=10**12,
    )[1]


def build_variants() -> dict[str, Callable[[], int]]:
    """One request function per variant, each with the credentials it needs."""
    from bench.urls import PATHS
    from bench.wsgi_client import make_request

    keys = create_keys()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {keys.keyfence}"}
    limited = {"HTTP_AUTHORIZATION": f"Bearer {limited_key()}"}
    token = {"HTTP_AUTHORIZATION": f"Token {keys.token}"}
    variants = {
        "plain": make_request(PATHS["plain"], ALLOWED_IP),
        "token": make_request(PATHS["token"], ALLOWED_IP, token),
        "token_log": make_request(PATHS["token_log"], ALLOWED_IP, token),
        "keyfence": make_request(PATHS["keyfence"], ALLOWED_IP, bearer),
        "keyfence_blocked": make_request(PATHS["keyfence"], BLOCKED_IP, bearer),
        "keyfence_is_authenticated": make_request(PATHS["keyfence_is_authenticated"], ALLOWED_IP, bearer),
        "keyfence_limited": make_request(PATHS["keyfence"], ALLOWED_IP, limited),
    }
    if keys.drf_api_key:
        variants["drf_api_key"] = make_request(
            PATHS["drf_api_key"], ALLOWED_IP, {"HTTP_AUTHORIZATION": f"Api-Key {keys.drf_api_key}"}
        )
    return {name: variants[name] for name in LABELS if name in variants}


def check_statuses(variants: dict[str, Callable[[], int]]) -> dict[str, int]:
    """Send one request per variant; raise if any answers with an unexpected status."""
    statuses = {name: call() for name, call in variants.items()}
    wrong = {name: s for name, s in statuses.items() if s != EXPECTED.get(name, 200)}
    if wrong:
        raise SystemExit(f"unexpected status codes: {wrong}")
    return statuses


def time_variants(variants: dict[str, Callable[[], int]], rounds: int, per_round: int) -> dict[str, float]:
    """Median microseconds per request, from interleaved rounds in a shuffled order."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    clock = time.perf_counter_ns
    order = list(variants)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            call, bucket = variants[name], samples[name]
            for _ in range(per_round):
                started = clock()
                call()
                bucket.append((clock() - started) / 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def queries_per_request(call: Callable[[], int], requests: int = 1000) -> float:
    """SQL statements per request over ``requests`` requests, the batched log inserts included."""
    from bench.wsgi_client import count_queries
    from usagelogs.recorder import recorder

    with count_queries() as counted:
        for _ in range(requests):
            call()
        recorder.flush()
        return counted() / requests


def run(
    database_url: str, redis_url: str = "", rounds: int = 30, per_round: int = 100, conn_max_age: int | None = -1
) -> dict:
    """Run the whole comparison and return medians, ratios and query counts."""
    setup_django(database_url, redis_url, conn_max_age=conn_max_age)
    from django.db import connection

    variants = build_variants()
    statuses = check_statuses(variants)
    time_variants(variants, 1, max(per_round // 2, 1))  # warm up every code path and cache
    medians = time_variants(variants, rounds, per_round)
    m = medians
    ratios = {
        "5/2": m["keyfence"] / m["token"],
        "5/4": m["keyfence"] / m["token_log"],
        "6/5": m["keyfence_blocked"] / m["keyfence"],
        "5/1": m["keyfence"] / m["plain"],
        "7/2": m["keyfence_is_authenticated"] / m["token"],
        "8/5": m["keyfence_limited"] / m["keyfence"],
    }
    if "drf_api_key" in m:
        ratios["5/3"] = m["keyfence"] / m["drf_api_key"]
    counted = max(per_round * 10, 10)
    queries = {name: queries_per_request(variants[name], counted) for name in COUNTED}
    return {
        "database": connection.vendor,
        "cache": "redis" if redis_url else "locmem",
        "statuses": statuses,
        "conn_max_age": connection.settings_dict["CONN_MAX_AGE"],
        "median_us": medians,
        "ratios": ratios,
        "queries_per_request": queries,
        "queries_over": counted,
    }


def report(result: dict) -> str:
    lines = [
        f"== requests through the WSGI handler: {result['database']}, cache {result['cache']}, "
        f"CONN_MAX_AGE {result['conn_max_age']}",
        f"{'variant':<46}{'median µs':>10}{'x floor':>9}",
    ]
    floor = result["median_us"]["plain"]
    for name, value in result["median_us"].items():
        lines.append(f"{LABELS[name]:<46}{value:>10.1f}{value / floor:>9.2f}")
    lines.append("ratios: " + "  ".join(f"{k} = {v:.2f}" for k, v in result["ratios"].items()))
    q = result["queries_per_request"]
    lines.append(
        f"SQL statements per request ({result['queries_over']:,} requests, all threads): "
        + ", ".join(f"{LABELS[name].split(' ', 1)[0]} = {count:.3f}" for name, count in q.items())
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=f"sqlite:///{DEFAULT_SQLITE}")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=100)
    connections = parser.add_mutually_exclusive_group()
    connections.add_argument(
        "--persistent-connections", action="store_true", help="never close database connections (CONN_MAX_AGE=None)"
    )
    connections.add_argument(
        "--conn-max-age",
        type=int,
        default=-1,
        help="replace the configured CONN_MAX_AGE (0: a new connection per request)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(
        args.database_url,
        args.redis_url,
        args.rounds,
        args.per_round,
        None if args.persistent_connections else args.conn_max_age,
    )
    print(json.dumps(result) if args.json else report(result), flush=True)


if __name__ == "__main__":
    main()
