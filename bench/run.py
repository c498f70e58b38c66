"""``make bench``: every benchmark, on SQLite and PostgreSQL, with the local and the Redis cache.

    python bench/run.py [--only auth,micro,logs,load] [--databases sqlite,postgres] [--quick]
                        [--postgres-url URL] [--redis-url URL] [--rows N] [--duration S]

Each benchmark runs in its own process, so that each gets fresh settings and a fresh database.
"""

from __future__ import annotations

import argparse
import platform
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.fixtures import DEFAULT_POSTGRES, DEFAULT_SQLITE  # noqa: E402

REDIS = "redis://127.0.0.1:6379/15"


def machine() -> str:
    import django

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"machine: {nproc} CPUs, {cpu}; Python {platform.python_version()}, Django {django.get_version()}"


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def script(name: str, *args: str) -> None:
    print(f"$ python bench/{name} {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, str(HERE / name), *args])
    if result.returncode:
        raise SystemExit(f"bench/{name} failed with exit code {result.returncode}")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="auth,micro,logs,rollout,load")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis-url", default=REDIS)
    parser.add_argument("--rows", default="1000000", help="usage-log rows for the scale benchmark")
    parser.add_argument("--duration", default="20", help="seconds per load-test endpoint")
    parser.add_argument("--quick", action="store_true", help="tiny counts, to check that everything runs")
    args = parser.parse_args()
    only, databases = set(args.only.split(",")), args.databases.split(",")
    urls = {"sqlite": f"sqlite:///{DEFAULT_SQLITE}", "postgres": args.postgres_url}
    if "postgres" in databases and not reachable(args.postgres_url, 5432):
        print(f"PostgreSQL is not reachable at {args.postgres_url}; skipping it.")
        databases.remove("postgres")
    caches = [""] + ([args.redis_url] if reachable(args.redis_url, 6379) else [])
    if len(caches) == 1:
        print(f"Redis is not reachable at {args.redis_url}; the shared-cache runs are skipped.")
    rounds = ["--rounds", "2", "--per-round", "5"] if args.quick else []
    rows = "5000" if args.quick else args.rows
    duration = "2" if args.quick else args.duration
    print(machine(), flush=True)
    if "micro" in only:
        script("allowlist_micro.py")
    for database in databases:
        url = urls[database]
        if "auth" in only:
            for cache in caches:
                script("auth_bench.py", "--database-url", url, *(["--redis-url", cache] if cache else []), *rounds)
            if database == "sqlite":  # what a new connection per request costs (CONN_MAX_AGE 0)
                script("auth_bench.py", "--database-url", url, "--conn-max-age", "0", *rounds)
        if "logs" in only:
            script("logs_scale.py", "--database-url", url, "--rows", rows)
        if "rollout" in only:
            script("rollout_scale.py", "--database-url", url, "--rows", rows)
        if "load" in only:
            for cache in caches:
                script(
                    "load.py", "--database-url", url, *(["--redis-url", cache] if cache else []), "--duration", duration
                )


if __name__ == "__main__":
    main()
