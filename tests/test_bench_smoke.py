"""The benchmarks keep working: each runs for a few iterations and gives sane answers.

They are timed in ``make bench``; here only what they report is checked, not how fast it was.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import allowlist_micro
from bench.fixtures import ALLOWED_IP, BLOCKED_IP

ROOT = Path(__file__).resolve().parent.parent
HAS_DRF_API_KEY = importlib.util.find_spec("rest_framework_api_key") is not None


def run_bench(script: str, tmp_path: Path, *args: str) -> dict:
    """Run one benchmark script on a fresh SQLite file; return its JSON result."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    command = [sys.executable, str(ROOT / "bench" / script), "--database-url", url, "--json", *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_request_benchmark_answers_as_each_design_should(tmp_path):
    result = run_bench("auth_bench.py", tmp_path, "--rounds", "1", "--per-round", "3")
    expected = {
        "plain": 200,
        "token": 200,
        "token_log": 200,
        "keyfence": 200,
        "keyfence_blocked": 403,
        "keyfence_is_authenticated": 200,
        "keyfence_limited": 200,
    }
    if HAS_DRF_API_KEY:
        expected["drf_api_key"] = 200
    assert result["statuses"] == expected
    assert set(result["median_us"]) == set(expected) and all(v > 0 for v in result["median_us"].values())
    assert result["ratios"]["7/2"] > 0 and result["ratios"]["8/5"] > 0
    # One key lookup per request, plus the batched log inserts; DRF's IsAuthenticated loads no owner.
    # A key's limits cost no query: they are in its row.
    for name in ("keyfence", "keyfence_blocked", "keyfence_is_authenticated", "keyfence_limited"):
        assert 1.0 <= result["queries_per_request"][name] < 1.2, result["queries_per_request"]
    assert result["conn_max_age"] == 60


def test_request_benchmark_can_reconnect_on_every_request(tmp_path):
    result = run_bench("auth_bench.py", tmp_path, "--rounds", "1", "--per-round", "3", "--conn-max-age", "0")
    assert result["conn_max_age"] == 0 and result["statuses"]["keyfence_is_authenticated"] == 200


@pytest.mark.parametrize(("address", "matches"), [(ALLOWED_IP, True), (BLOCKED_IP, False)], ids=["allowed", "blocked"])
def test_allowlist_micro_benchmark_agrees_with_ipaddress(address, matches):
    row = allowlist_micro.measure(20, address, number=20)
    assert row["matches"] is matches
    assert row["keyfence_ns"] > 0 and row["ipaddress_ns"] > 0


def test_rollout_benchmark_suggests_and_simulates(tmp_path):
    result = run_bench("rollout_scale.py", tmp_path, "--rows", "600", "--addresses", "60", "--repeat", "1")
    # 60 addresses in one IPv4 /24 and one IPv6 /48, ten requests each: more than 20, so merged into 20.
    assert (result["requests"], result["addresses"]) == (600, 60) and 1 <= result["suggested"] <= 20
    assert result["blocked_by_19"] > 0
    assert result["suggestions_s"] > 0 and result["simulate_s"] > 0


def test_log_scale_benchmark_pages_exports_and_prunes(tmp_path):
    result = run_bench("logs_scale.py", tmp_path, "--rows", "3000")
    pages = result["sizes"]["3000"]["pages_ms"]
    assert {"key+status first", "key+status deepest", "blocked first", "blocked deepest", "chart 30 days"} <= set(pages)
    assert result["sizes"]["3000"]["seal_s"] > 0, "the days were sealed before the chart was timed"
    assert result["sizes"]["3000"]["export"]["ratio"] > 0
    assert all(kib > 0 for kib in result["memory_kib"].values())
    assert result["prune"]["deleted"] > 0 and result["prune"]["writes"] > 0


@pytest.mark.multiprocess
def test_load_benchmark_serves_both_endpoints_without_errors(tmp_path):
    result = run_bench("load.py", tmp_path, "--duration", "1", "--connections", "2")
    for name in ("keyfence", "token_log"):
        assert result[name]["requests"] > 0 and result[name]["errors"] == 0, result
    assert not result["database_locked"] and result["tracebacks"] == 0
    # Every answered request was logged; wrk stops counting with up to one request per connection
    # still in flight, per run (warm-up and measurement).
    assert result["answered"] <= result["logged_rows"] <= result["answered"] + 2 * 2
