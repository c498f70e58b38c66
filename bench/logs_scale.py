"""Usage logs at scale: list pages, the chart, CSV export, export memory, the writer and pruning.

python bench/logs_scale.py [--database-url URL] [--rows 1000000]

Measured at 10k, 100k, 1M rows and --rows (each spread over 90 days, see logs_data.py); the
targets are ratios within this one run: pages at --rows against the same pages at 100k rows, the
30-day chart against a first page, the writer with the rollup against the writer without it.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import DEFAULT_SQLITE, setup_django

SIZES = (10_000, 100_000, 1_000_000)


def _median_ms(action: Any, repeat: int = 7) -> float:
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_times(user: Any, key: Any) -> dict[str, float]:
    """Milliseconds per page through the API view, for a browser session in the key's workspace:
    first and deepest (last) pages of filters."""
    from importlib import import_module

    from django.conf import settings
    from rest_framework.test import APIRequestFactory, force_authenticate

    from usagelogs.api import UsageLogListView, UsageLogPagination
    from usagelogs.models import UsageLog

    view, factory = UsageLogListView.as_view(), APIRequestFactory()

    def page(params: dict[str, str]) -> Any:
        request = factory.get("/api/v1/usage-logs", params)
        request.session = import_module(settings.SESSION_ENGINE).SessionStore()  # acting in the personal workspace
        force_authenticate(request, user=user)
        response = view(request)
        assert response.status_code == 200, response.data
        return response.render()

    def deepest(params: dict[str, str], rows: Any) -> dict[str, str]:
        # The cursor of the last page: positioned just above the page_size + 1 oldest matches.
        times = list(
            rows.order_by("timestamp", "id").values_list("timestamp", flat=True)[: UsageLogPagination.page_size + 1]
        )
        if len(times) <= UsageLogPagination.page_size:
            return params  # one page holds them all
        cursor = urlencode({"p": str(times[-1])})
        return {**params, "cursor": base64.b64encode(cursor.encode()).decode()}

    key_status = {"api_key": str(key.pk), "status_code": "403"}
    matching = UsageLog.objects.filter(workspace_id=key.workspace_id, api_key=key, status_code=403)
    blocked = UsageLog.objects.filter(workspace_id=key.workspace_id, decision="blocked")
    cases = {
        "key+status first": key_status,
        "key+status deepest": deepest(key_status, matching),
        "blocked first": {"blocked": "true"},
        "blocked deepest": deepest({"blocked": "true"}, blocked),
        "4xx first": {"status_code": "4xx"},
        "since 1 day first": {"since": _days_ago(1)},
        "until 60 days ago first": {"until": _days_ago(60)},
        "a week 60 days ago first": {"since": _days_ago(67), "until": _days_ago(60)},
        "key, a day 85 days ago first": {"api_key": str(key.pk), "since": _days_ago(86), "until": _days_ago(85)},
        # Rare: about one row in 10,000, so that at 100k rows the page looks through every window.
        "key+status 500 first": {"api_key": str(key.pk), "status_code": "500"},
    }
    assert len(json.loads(page(cases["key+status deepest"]).content)["results"]) == min(
        UsageLogPagination.page_size, matching.count()
    )
    # Interleaved rounds, compared by medians, so that a burst of other work on the machine falls on
    # every case alike rather than on whichever ran during it.
    for params in cases.values():
        page(params)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(9):
        for name, params in cases.items():
            started = time.perf_counter()
            page(params)
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(measured) for name, measured in times.items()}


def _days_ago(days: int) -> str:
    from django.utils import timezone

    return (timezone.now() - timedelta(days=days)).isoformat()


def export_rates(workspace_id: Any) -> dict[str, float]:
    """Rows per second: the product's CSV stream, and a bare values_list + csv.writer loop."""
    from django.utils import timezone

    from usagelogs.export import _COLUMNS, csv_response
    from usagelogs.selectors import logs_for

    rows = logs_for(workspace_id=workspace_id).count()

    class Sink:
        def write(self, text: str) -> int:
            return len(text)

    def bare() -> None:
        writer = csv.writer(Sink())
        for row in logs_for(workspace_id=workspace_id).values_list(*_COLUMNS).iterator(chunk_size=2000):
            writer.writerow(row)

    def product() -> None:
        for _ in csv_response(logs_for(workspace_id=workspace_id), timezone.now()).streaming_content:
            pass

    result = {}
    for name, action in (("bare", bare), ("export", product), ("bare", bare), ("export", product)):
        started = time.perf_counter()
        action()
        result[name] = max(result.get(name, 0.0), rows / (time.perf_counter() - started))
    result["ratio"] = result["export"] / result["bare"]
    return result


def peak_memory(database_url: str, rows: int) -> int:
    """Peak resident memory (KiB) of a fresh process that streams the CSV of ``rows`` rows."""
    command = [sys.executable, str(Path(__file__).with_name("export_memory.py")), database_url, str(rows)]
    return int(subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1])


def prune_blocking(days: int = 60) -> dict[str, Any]:
    """Prune rows older than ``days`` while one thread writes a log row every 5 ms and another reads
    a key by its prefix (the authentication query) every 5 ms, timing each.

    On PostgreSQL the prune detaches the daily partitions wholly older than the cutoff (about a
    month of them here) in one transaction, drops their tables, then trims the partition at the
    boundary in batches and prunes the rollup; each phase is timed, with the longest write and the
    longest key read during it.
    """
    from django.db import connection
    from django.utils import timezone

    from apikeys.models import ApiKey
    from usagelogs.conf import conf
    from usagelogs.models import UsageLog
    from usagelogs.recorder import insert_rows
    from usagelogs.services import prune_logs

    before, done = UsageLog.objects.count(), threading.Event()
    prefix = ApiKey.objects.values_list("prefix", flat=True).first()
    timed: dict[str, list[tuple[float, float]]] = {"write": [], "read": []}

    def loop(name: str, action: Any) -> None:
        while not done.is_set():
            started = time.perf_counter()
            action()
            timed[name].append((started, (time.perf_counter() - started) * 1000))
            time.sleep(0.005)
        connection.close()

    row = {"timestamp": timezone.now(), "method": "GET", "path": "/api/v1/whoami", "status_code": 200}
    threads = [
        threading.Thread(target=loop, args=("write", lambda: insert_rows([{**row, "timestamp": timezone.now()}]))),
        threading.Thread(target=loop, args=("read", lambda: list(ApiKey.objects.filter(prefix=prefix)))),
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    started = time.perf_counter()
    result = prune_logs(
        cutoff=timezone.now() - timedelta(days=days),
        batch_size=conf.PRUNE_BATCH_SIZE,
        pause=conf.PRUNE_PAUSE_SECONDS,
        lock_timeout_ms=conf.PRUNE_LOCK_TIMEOUT_MS,
    )
    ended = time.perf_counter()
    time.sleep(0.2)
    done.set()
    for thread in threads:
        thread.join()

    def longest(name: str, low: float, high: float) -> float:
        return max((ms for at, ms in timed[name] if low <= at <= high or low <= at + ms / 1000 <= high), default=0.0)

    phases = {
        phase: {
            "seconds": end - start,
            "max_write_ms": longest("write", start, end),
            "max_read_ms": longest("read", start, end),
        }
        for phase, (start, end) in result.phases.items()
    }
    latencies = sorted(ms for _, ms in timed["write"])
    return {
        "deleted": before + len(timed["write"]) - UsageLog.objects.count(),
        "partitions": len(result.dropped),
        "dropped_rows": sum(rows for _, rows in result.dropped),
        "trimmed": result.trimmed,
        "phases": phases,
        "seconds": ended - started,
        "writes": len(latencies),
        "max_write_ms": latencies[-1],
        "p99_write_ms": latencies[int(len(latencies) * 0.99)],
        "max_read_ms": max(ms for _, ms in timed["read"]),
    }


def chart_ms(user: Any, key: Any) -> dict[str, float]:
    """The page's 30-day chart, read from the rollup, against one first page (key + status)."""
    from tests.usagelogs.helpers import session_request
    from usagelogs.filters import UsageLogFilter
    from usagelogs.selectors import logs_for
    from usagelogs.views import _chart

    request = session_request(user)

    def chart() -> None:
        filterset = UsageLogFilter(
            {"since": _days_ago(30)}, queryset=logs_for(workspace_id=key.workspace_id), request=request
        )
        assert filterset.is_valid()
        drawn = _chart(filterset.qs, key.workspace_id, filterset.form.cleaned_data)
        assert drawn.allowed + drawn.blocked > 0 and drawn.unit == "day"

    return {"chart 30 days": _median_ms(chart)}


def writer_rates(keys: list[Any], batches: int = 300) -> dict[str, float]:
    """Rows per second through the writer's insert, with the rollup upsert and without it, in
    interleaved rounds of batches of 100 varied rows."""
    from django.utils import timezone

    from usagelogs.inserts import insert_rows

    now = timezone.now()
    rows = [
        {
            "timestamp": now - timedelta(seconds=n * 7),
            "workspace_id": keys[n % len(keys)].workspace_id,
            "api_key_id": keys[n % len(keys)].pk,
            "key_prefix": keys[n % len(keys)].prefix,
            "method": "GET",
            "path": "/api/v1/whoami",
            "status_code": (200, 200, 200, 404, 403, 429)[n % 6],
            "client_ip": "198.51.100.7",
            "client_ip_key": "4:c6336407",
            "decision": "blocked" if n % 6 == 4 else "allowed",
            "response_time_ms": 1.5,
        }
        for n in range(100)
    ]
    seconds: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(6):
        for rollup in (True, False) if round_ % 2 else (False, True):
            started = time.perf_counter()
            for _ in range(batches // 6):
                insert_rows(rows, rollup=rollup)
            seconds[rollup].append(time.perf_counter() - started)
    per = 100 * (batches // 6)
    result = {
        "with_rollup": per / statistics.median(seconds[True]),
        "without_rollup": per / statistics.median(seconds[False]),
    }
    result["ratio"] = result["with_rollup"] / result["without_rollup"]
    return result


def run(database_url: str, total: int) -> dict:
    from django.db import connection

    from bench.logs_data import add_rows, make_partitions, make_workspace

    setup_django(database_url)
    from usagelogs.daily import seal_days

    make_partitions()
    user, keys = make_workspace()
    workspace_id = keys[0].workspace_id
    sizes, done, result = [s for s in SIZES if s < total] + [total], 0, {"database": connection.vendor, "sizes": {}}
    for size in sizes:
        started = time.perf_counter()
        add_rows(workspace_id, keys, done, size, total)
        filled = time.perf_counter()
        seal_days()  # as the worker's hourly job does
        done = size
        result["sizes"][size] = {
            "fill_s": filled - started,
            "seal_s": time.perf_counter() - filled,
            "pages_ms": {**page_times(user, keys[0]), **chart_ms(user, keys[0])},
        }
        if size <= 1_000_000:
            result["sizes"][size]["export"] = export_rates(workspace_id)
        print(f"{size:,} rows: {json.dumps(result['sizes'][size])}", file=sys.stderr, flush=True)
    small = min(100_000, total // 10)
    exported = min(1_000_000, total)
    result["memory_kib"] = {small: peak_memory(database_url, small), exported: peak_memory(database_url, exported)}
    result["writer"] = writer_rates(keys)
    result["prune"] = prune_blocking()
    return result


def report(result: dict) -> str:
    lines = [f"== usage logs at scale: {result['database']}"]
    sizes = list(result["sizes"])
    names = list(result["sizes"][sizes[0]]["pages_ms"])
    reference = 100_000 if 100_000 in sizes and sizes[-1] > 100_000 else sizes[0]
    lines.append(
        f"{'ms per page (API view, 50 rows)':<32}"
        + "".join(f"{s:>12,}" for s in sizes)
        + f"{f'{sizes[-1]:,} / {reference:,}':>22}"
    )
    for name in names:
        row = result["sizes"]
        ratio = row[sizes[-1]]["pages_ms"][name] / row[reference]["pages_ms"][name]
        lines.append(f"{name:<32}" + "".join(f"{row[s]['pages_ms'][name]:>12.2f}" for s in sizes) + f"{ratio:>22.2f}")
    last = result["sizes"][sizes[-1]]["pages_ms"]
    lines.append(
        f"deepest / first page at {sizes[-1]:,} rows: key+status "
        f"{last['key+status deepest'] / last['key+status first']:.2f}, blocked "
        f"{last['blocked deepest'] / last['blocked first']:.2f}"
    )
    lines.append(
        f"30-day chart / key+status first page at {sizes[-1]:,} rows: "
        f"{last['chart 30 days'] / last['key+status first']:.2f}"
    )
    exported = [s for s in sizes if "export" in result["sizes"][s]]
    lines.append(f"{'':<32}" + "".join(f"{s:>12,}" for s in exported))
    for label, field in (("CSV export, rows/s", "export"), ("bare loop, rows/s", "bare"), ("export / bare", "ratio")):
        lines.append(f"{label:<32}" + "".join(f"{result['sizes'][s]['export'][field]:>12,.2f}" for s in exported))
    lines.append(f"{'fill time, s':<32}" + "".join(f"{result['sizes'][s]['fill_s']:>12.1f}" for s in sizes))
    lines.append(f"{'sealing every day, s':<32}" + "".join(f"{result['sizes'][s]['seal_s']:>12.2f}" for s in sizes))
    (small, small_kib), (big, big_kib) = sorted(result["memory_kib"].items())
    lines.append(
        f"export peak RSS: {small:,} rows {small_kib / 1024:.1f} MiB, {big:,} rows {big_kib / 1024:.1f} MiB, "
        f"ratio {big_kib / small_kib:.2f}"
    )
    w = result["writer"]
    lines.append(
        f"writer, rows/s: with the rollup {w['with_rollup']:,.0f}, without {w['without_rollup']:,.0f}, "
        f"ratio {w['ratio']:.2f}"
    )
    p = result["prune"]
    lines.append(
        f"prune --days 60: {p['deleted']:,} rows in {p['seconds']:.1f} s, {p['partitions']} partitions (about "
        f"{p['dropped_rows']:,} rows) and {p['trimmed']:,} rows trimmed; {p['writes']} concurrent log writes, "
        f"longest {p['max_write_ms']:.1f} ms, p99 {p['p99_write_ms']:.1f} ms; longest key read "
        f"{p['max_read_ms']:.1f} ms"
    )
    for phase, figures in p["phases"].items():
        lines.append(
            f"  {phase:<8} {figures['seconds'] * 1000:>9.0f} ms   longest log write {figures['max_write_ms']:>7.1f} ms"
            f"   longest key read {figures['max_read_ms']:>7.1f} ms"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=f"sqlite:///{DEFAULT_SQLITE}")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(args.database_url, args.rows)
    print(json.dumps(result) if args.json else report(result), flush=True)


if __name__ == "__main__":
    main()
