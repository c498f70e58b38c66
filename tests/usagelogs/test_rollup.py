"""The hourly rollup: written with each batch, equal to a GROUP BY over the log rows after a retry and
after a graceful stop, read by the chart, and pruned with the logs."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.db.models.functions import TruncHour
from django.utils import timezone

from tests.servers import call, free_port, wait_until_up
from tests.usagelogs.helpers import personal, session_request, written
from tests.usagelogs.test_recorder import start_gunicorn
from usagelogs import chart, rollup
from usagelogs.counts import chart_counts, request_counts, usage_counts
from usagelogs.filters import UsageLogFilter
from usagelogs.models import NO_KEY, UsageLog, UsageRollup, status_class
from usagelogs.recorder import recorder
from usagelogs.selectors import logs_for


def grouped_rows() -> dict[tuple[Any, ...], tuple[int, float]]:
    """The rollup as a GROUP BY over the log rows would compute it."""
    counts: Counter[tuple[Any, ...]] = Counter()
    totals: Counter[tuple[Any, ...]] = Counter()
    rows = (
        UsageLog.objects.exclude(workspace=None)
        .annotate(hour=TruncHour("timestamp", tzinfo=UTC))
        .values_list("workspace_id", "hour", "api_key_id", "decision", "status_code", "response_time_ms")
    )
    for workspace_id, hour, key_id, decision, code, ms in rows:
        group = (workspace_id, hour, key_id or NO_KEY, decision, status_class(code))
        counts[group] += 1
        totals[group] += ms
    return {group: (counts[group], round(totals[group], 3)) for group in counts}


def rollup_rows() -> dict[tuple[Any, ...], tuple[int, float]]:
    return {
        (r.workspace_id, r.hour, r.key_id, r.decision, r.status_class): (r.requests, round(r.total_response_ms, 3))
        for r in UsageRollup.objects.all()
    }


@pytest.mark.parametrize(
    ("code", "expected"), [(200, "2xx"), (204, "2xx"), (302, "3xx"), (404, "4xx"), (429, "429"), (503, "5xx")]
)
def test_status_classes_keep_429_apart(code: int, expected: str) -> None:
    assert status_class(code) == expected


@pytest.mark.django_db(transaction=True)
def test_a_retried_batch_is_counted_once(batch_mode, monkeypatch, user, make_key, api, log_records) -> None:
    """The upsert fails after the rows were inserted: the batch rolls back whole and is retried."""
    batch_mode(batch_size=1000, interval=60)
    _, secret = make_key(user, allow=["127.0.0.1"])
    real, failures = rollup.Upsert.execute, [OperationalError("deadlock detected")]

    def flaky(self: Any, cursor: Any, rows: Any, **kwargs: Any) -> None:
        real(self, cursor, rows, **kwargs)
        if failures:
            raise failures.pop()

    monkeypatch.setattr(rollup.Upsert, "execute", flaky)
    for ip in ["127.0.0.1"] * 5 + ["198.51.100.7"] * 2:
        api(secret, ip=ip).get("/api/v1/whoami")
    api(secret).get("/api/v1/no-such-endpoint")
    assert recorder.flush() == 8
    assert not failures and [r.levelname for r in log_records] == ["WARNING"]
    assert UsageLog.objects.count() == 8
    assert grouped_rows() == rollup_rows()
    assert sum(requests for requests, _ in rollup_rows().values()) == 8
    assert {group[3:] for group in rollup_rows()} == {("allowed", "2xx"), ("blocked", "4xx"), ("none", "4xx")}


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_after_a_graceful_stop_the_rollup_equals_the_rows(user, make_key) -> None:
    _, secret = make_key(user, allow=["127.0.0.1"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port)
    try:
        wait_until_up(url, server)
        statuses: list[int] = []

        def client(path: str, count: int) -> None:
            statuses.extend(call(url, path, secret)[0] for _ in range(count))

        threads = [threading.Thread(target=client, args=(path, 15)) for path in ("/api/v1/whoami", "/api/v1/nope")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(statuses) == [200] * 15 + [404] * 15
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert UsageLog.objects.count() == 30
    assert grouped_rows() == rollup_rows()
    assert sorted(requests for requests, _ in rollup_rows().values()) in ([15, 15], [1, 14, 15], [1, 14, 1, 14])


@pytest.mark.django_db
def test_rows_without_a_workspace_are_not_counted_and_session_requests_count_with_no_key(user, make_key) -> None:
    workspace = personal(user)
    written(method="GET", path="/api/v1/whoami", status_code=401)
    written(workspace=workspace, method="GET", path="/api/v1/keys", status_code=200, response_time_ms=2.5)
    written(workspace=workspace, method="GET", path="/api/v1/keys", status_code=429, response_time_ms=1.0)
    assert grouped_rows() == rollup_rows()
    assert sorted((r.key_id, r.status_class, r.requests) for r in UsageRollup.objects.all()) == [
        (NO_KEY, "2xx", 1),
        (NO_KEY, "429", 1),
    ]


@pytest.fixture
def traffic(user, make_key) -> dict[str, Any]:
    """Three days of a workspace's requests, some blocked, some rate limited, at odd minutes."""
    build, _ = make_key(user, name="Build")
    other, _ = make_key(user, name="Other")
    now = timezone.now()
    for n in range(90):
        key = build if n % 3 else other
        written(
            workspace=personal(user),
            api_key=key,
            timestamp=now - timedelta(minutes=n * 47 + 3),
            method="POST" if n % 5 == 0 else "GET",
            path="/api/v1/whoami",
            status_code=(200, 403, 429, 404, 500)[n % 5],
            decision="blocked" if n % 5 == 1 else "allowed",
            response_time_ms=float(n % 7),
        )
    return {"build": build, "other": other, "now": now}


FILTERS = {
    "none": {},
    "a key": {"api_key": "build"},
    "blocked only": {"blocked": "true"},
    "a class": {"status_code": "4xx"},
    "429": {"status_code": "429"},
    "since and until inside hours": {"since": -50, "until": -3},
    "30 days, by day": {"since": -30 * 24},
    "a key over 30 days, by day": {"api_key": "build", "since": -30 * 24},
    "an exact status the rollup does not hold": {"status_code": "404"},
    "a method the rollup does not hold": {"method": "POST"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", FILTERS)
def test_the_chart_reads_the_rollup_and_counts_what_the_rows_count(name: str, user, traffic) -> None:
    params = {}
    for field, value in FILTERS[name].items():
        if field == "api_key":
            value = str(traffic[value].pk)
        elif field in ("since", "until"):
            value = (traffic["now"] + timedelta(hours=value, minutes=17)).isoformat()
        params[field] = value
    filterset = UsageLogFilter(params, queryset=logs_for(workspace_id=personal(user).pk), request=session_request(user))
    assert filterset.is_valid(), filterset.errors
    cleaned = filterset.form.cleaned_data
    window = chart.window_for(cleaned.get("since"), cleaned.get("until"), traffic["now"])
    assert window.unit == ("day" if "by day" in name else "hour")
    expected = request_counts(filterset.qs, start=window.start, end=window.end, unit=window.unit)
    assert sum(sum(counted) for counted in expected.values()) > 0
    got = chart_counts(
        filterset.qs,
        workspace_id=personal(user).pk,
        cleaned=cleaned,
        start=window.start,
        end=window.end,
        unit=window.unit,
    )
    assert got == expected


@pytest.mark.django_db
def test_the_chart_does_not_read_rows_for_whole_hours(user, traffic, django_assert_max_num_queries) -> None:
    """Without since/until cutting an hour, the chart is one query on the rollup, none on the rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        counts = chart_counts(
            logs_for(workspace_id=personal(user).pk),
            workspace_id=personal(user).pk,
            cleaned={},
            start=traffic["now"].replace(minute=0, second=0, microsecond=0) - timedelta(days=7),
            end=traffic["now"].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1),
            unit="hour",
        )
    assert sum(sum(counted) for counted in counts.values()) == 90
    assert [q["sql"] for q in captured.captured_queries if "usagelogs_usagelog" in q["sql"]] == []


@pytest.mark.django_db
def test_usage_counts_per_key_come_from_the_rollup(user, traffic) -> None:
    counts = usage_counts(
        workspace_id=personal(user).pk,
        key_ids=[traffic["build"].pk, traffic["other"].pk],
        since=traffic["now"] - timedelta(days=30),
    )
    assert counts == {traffic["build"].pk: 60, traffic["other"].pk: 30}


@pytest.mark.django_db
def test_prune_removes_the_rollup_hours_before_the_cutoff(user, traffic) -> None:
    call_command("prune_usage_logs", "--days", "1", stdout=StringIO())
    cutoff = rollup.hour_of(timezone.now() - timedelta(days=1))
    assert not UsageRollup.objects.filter(hour__lt=cutoff).exists()
    assert UsageRollup.objects.filter(hour__gte=cutoff).exists()
    # The rows of the cutoff's own hour that are older than the cutoff are gone, their hour stays:
    # whole hours of the rollup are never split.
    kept = sum(UsageRollup.objects.values_list("requests", flat=True))
    assert kept >= UsageLog.objects.count()


def test_hour_of_is_utc() -> None:
    moment = datetime(2026, 3, 1, 10, 59, 59, 999999, tzinfo=UTC)
    assert rollup.hour_of(moment) == datetime(2026, 3, 1, 10, tzinfo=UTC)
