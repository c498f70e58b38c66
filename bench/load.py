"""Load gunicorn (2 workers, loopback) from a separate process: Keyfence against token + sync log.

    python bench/load.py [--database-url URL] [--redis-url URL] [--duration 20] [--connections 4]

Uses Debian's ``wrk`` when installed, otherwise a small threaded Python client. Reports requests
per second, p50 and p99 latency, errors, and whether the server logged "database is locked".
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import ALLOWLIST, DEFAULT_SQLITE, ROOT, setup_django

# The load comes from 127.0.0.1: the only /24, so the last of the 16 IPv4 ranges checked.
LOAD_ALLOWLIST = [*ALLOWLIST[:-1], "127.0.0.0/24"]


def create_credentials() -> dict[str, str]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from apikeys import services
    from apikeys.networks import validate_allowlist

    user = get_user_model().objects.create_user("load", "load@example.com", "not-used-for-anything")
    _, secret = services.key_create(
        name="load",
        actor=services.Actor(user_id=user.pk),
        allowlist=validate_allowlist([{"cidr": c} for c in LOAD_ALLOWLIST]),
    )
    return {"keyfence": f"Bearer {secret}", "token_log": f"Token {Token.objects.create(user=user).key}"}


def start_server(database_url: str, redis_url: str, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "LOG_MODE": "batch",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.conf.py",
        "config.wsgi",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/plain")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"gunicorn did not start; see {log}")


def run_wrk(url: str, header: str, duration: float, connections: int) -> dict[str, float]:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "-H",
            f"Authorization: {header}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "errors": errors + int(non_2xx.group(1) if non_2xx else 0),
    }


def run_python_client(url: str, header: str, duration: float, connections: int) -> dict[str, float]:
    """A bounded fallback: ``connections`` threads, one request at a time each."""
    host, port, path = re.match(r"http://([^:/]+):(\d+)(/.*)", url).groups()
    latencies: list[float] = []
    errors = [0]
    deadline = time.monotonic() + duration

    def worker() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
                connection.request("GET", path, headers={"Authorization": header})
                response = connection.getresponse()
                response.read()
                errors[0] += response.status != 200
            except OSError:
                errors[0] += 1
            latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rps": len(latencies) / duration,
        "requests": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "errors": errors[0],
    }


def run(database_url: str, redis_url: str = "", duration: float = 20, connections: int = 4) -> dict:
    """Start the server, load each endpoint in turn, stop the server and check its log."""
    setup_django(database_url, redis_url)
    from django.db import connection

    from usagelogs.models import UsageLog

    credentials = create_credentials()
    connection.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = Path(tempfile.gettempdir()) / f"keyfence-load-{port}.log"
    client = run_wrk if shutil.which("wrk") else run_python_client
    paths = {"keyfence": "/api/v1/whoami", "token_log": "/bench/token_log"}
    server = start_server(database_url, redis_url, port, log)
    warmup, results = {}, {}
    try:
        for name in paths:
            warmup[name] = client(f"http://127.0.0.1:{port}{paths[name]}", credentials[name], 2, connections)
        for name in paths:
            results[name] = client(f"http://127.0.0.1:{port}{paths[name]}", credentials[name], duration, connections)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    server_log = log.read_text()
    return {
        "database": connection.vendor,
        "cache": "redis" if redis_url else "locmem",
        "client": "wrk" if client is run_wrk else "python",
        "connections": connections,
        "duration_s": duration,
        **results,
        "ratio_rps": results["keyfence"]["rps"] / results["token_log"]["rps"],
        "database_locked": "database is locked" in server_log,
        "tracebacks": server_log.count("Traceback"),
        "logged_rows": UsageLog.objects.filter(path="/api/v1/whoami").count(),
        "answered": warmup["keyfence"]["requests"] + results["keyfence"]["requests"],
    }


def report(result: dict) -> str:
    lines = [
        f"== load: gunicorn, 2 workers, {result['client']} with {result['connections']} connections for "
        f"{result['duration_s']:.0f} s; {result['database']}, cache {result['cache']}"
    ]
    for name, label in (("keyfence", "Keyfence /api/v1/whoami (20 entries)"), ("token_log", "Token + sync log")):
        r = result[name]
        lines.append(
            f"{label:<38} {r['rps']:>8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
            f"errors {r['errors']}"
        )
    lines.append(
        f"Keyfence / token + sync log throughput: {result['ratio_rps']:.2f}; 'database is locked' in the "
        f"server log: {'yes' if result['database_locked'] else 'no'}; tracebacks: {result['tracebacks']}; "
        f"usage-log rows for whoami: {result['logged_rows']:,} for {result['answered']:,} answered "
        f"(requests still in flight when the client stopped are logged, not counted)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=f"sqlite:///{DEFAULT_SQLITE}")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.database_url, args.redis_url, args.duration, args.connections)
    print(json.dumps(result) if args.json else report(result), flush=True)


if __name__ == "__main__":
    main()
