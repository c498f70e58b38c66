"""Usage logs at scale: list pages, CSV export, export memory and pruning, from 10k to 1M rows.

python bench/logs_scale.py [--database-url URL] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

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
        ids = list(rows.order_by("id").values_list("id", flat=True)[: UsageLogPagination.page_size + 1])
        if len(ids) <= UsageLogPagination.page_size:
            return params  # one page holds them all
        return {**params, "cursor": base64.b64encode(f"p={ids[-1]}".encode()).decode()}

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
    }
    assert len(json.loads(page(cases["key+status deepest"]).content)["results"]) == min(
        UsageLogPagination.page_size, matching.count()
    )
    return {name: _median_ms(lambda params=params: page(params)) for name, params in cases.items()}


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


def prune_blocking(days: int = 30) -> dict[str, float]:
    """Prune while another thread records rows; the longest a record had to wait, in ms."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from usagelogs.models import UsageLog
    from usagelogs.recorder import insert_rows

    before, latencies, done = UsageLog.objects.count(), [], threading.Event()

    def writer() -> None:
        row = {"timestamp": timezone.now(), "method": "GET", "path": "/api/v1/whoami", "status_code": 200}
        while not done.is_set():
            started = time.perf_counter()
            insert_rows([row])
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    started = time.perf_counter()
    call_command("prune_usage_logs", days=days, stdout=io.StringIO())
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    return {
        "deleted": before + len(latencies) - UsageLog.objects.count(),
        "seconds": seconds,
        "writes": len(latencies),
        "max_write_ms": max(latencies),
        "p99_write_ms": sorted(latencies)[int(len(latencies) * 0.99)],
    }


def run(database_url: str, total: int) -> dict:
    from django.db import connection

    from bench.logs_data import add_rows, make_workspace

    setup_django(database_url)
    user, keys = make_workspace()
    workspace_id = keys[0].workspace_id
    sizes, done, result = [s for s in SIZES if s < total] + [total], 0, {"database": connection.vendor, "sizes": {}}
    for size in sizes:
        started = time.perf_counter()
        add_rows(workspace_id, keys, done, size, total)
        done = size
        result["sizes"][size] = {
            "fill_s": time.perf_counter() - started,
            "pages_ms": page_times(user, keys[0]),
            "export": export_rates(workspace_id),
        }
    small = min(100_000, total // 10)
    result["memory_kib"] = {small: peak_memory(database_url, small), total: peak_memory(database_url, total)}
    result["prune"] = prune_blocking()
    return result


def report(result: dict) -> str:
    lines = [f"== usage logs at scale: {result['database']}"]
    sizes = list(result["sizes"])
    names = list(result["sizes"][sizes[0]]["pages_ms"])
    lines.append(f"{'ms per page (API view, 50 rows)':<32}" + "".join(f"{s:>12,}" for s in sizes))
    for name in names:
        lines.append(f"{name:<32}" + "".join(f"{result['sizes'][s]['pages_ms'][name]:>12.2f}" for s in sizes))
    last = result["sizes"][sizes[-1]]["pages_ms"]
    lines.append(
        f"deepest / first page at {sizes[-1]:,} rows: key+status "
        f"{last['key+status deepest'] / last['key+status first']:.2f}, blocked "
        f"{last['blocked deepest'] / last['blocked first']:.2f}"
    )
    for label, field in (("CSV export, rows/s", "export"), ("bare loop, rows/s", "bare"), ("export / bare", "ratio")):
        lines.append(f"{label:<32}" + "".join(f"{result['sizes'][s]['export'][field]:>12,.2f}" for s in sizes))
    lines.append(f"{'fill time, s':<32}" + "".join(f"{result['sizes'][s]['fill_s']:>12.1f}" for s in sizes))
    (small, small_kib), (big, big_kib) = sorted(result["memory_kib"].items())
    lines.append(
        f"export peak RSS: {small:,} rows {small_kib / 1024:.1f} MiB, {big:,} rows {big_kib / 1024:.1f} MiB, "
        f"ratio {big_kib / small_kib:.2f}"
    )
    p = result["prune"]
    lines.append(
        f"prune: deleted {p['deleted']:,} rows in {p['seconds']:.1f} s; concurrent log writes: {p['writes']}, "
        f"longest {p['max_write_ms']:.1f} ms, p99 {p['p99_write_ms']:.1f} ms"
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
