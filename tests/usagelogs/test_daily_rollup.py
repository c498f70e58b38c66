"""The daily level of the rollup: sealed days equal their hours and their rows, late batches are
never lost, long charts read it, and retention prunes it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models.functions import TruncDay
from django.utils import timezone

from tests.usagelogs.helpers import personal, session_request, written
from usagelogs import chart, daily
from usagelogs.counts import chart_counts, request_counts
from usagelogs.filters import UsageLogFilter
from usagelogs.inserts import insert_rows
from usagelogs.models import NO_KEY, DailyRollup, SealedDay, UsageLog, UsageRollup, status_class
from usagelogs.rollup import day_of
from usagelogs.selectors import logs_for

NOW = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)


def rows_per_day() -> dict[tuple[Any, ...], int]:
    """The daily rollup as a GROUP BY over the log rows would compute it."""
    counts: Counter[tuple[Any, ...]] = Counter()
    rows = (
        UsageLog.objects.exclude(workspace=None)
        .annotate(day=TruncDay("timestamp", tzinfo=UTC))
        .values_list("workspace_id", "day", "api_key_id", "decision", "status_code")
    )
    for workspace_id, day, key_id, decision, code in rows:
        counts[(workspace_id, day, key_id or NO_KEY, decision, status_class(code))] += 1
    return dict(counts)


def daily_rows(days: set[datetime] | None = None) -> dict[tuple[Any, ...], int]:
    found = DailyRollup.objects.all() if days is None else DailyRollup.objects.filter(day__in=days)
    return {(r.workspace_id, r.day, r.key_id, r.decision, r.status_class): r.requests for r in found}


def clean() -> set[datetime]:
    return set(SealedDay.objects.filter(dirty=False).values_list("day", flat=True))


@pytest.fixture
def days(user, make_key) -> dict[str, Any]:
    """Six days of a workspace's requests up to :data:`NOW`, some blocked, some rate limited."""
    build, _ = make_key(user, name="Build")
    other, _ = make_key(user, name="Other")
    for n in range(120):
        written(
            workspace=personal(user),
            api_key=build if n % 3 else other,
            timestamp=NOW - timedelta(minutes=n * 71 + 2),
            status_code=(200, 403, 429, 404, 200)[n % 5],
            decision="blocked" if n % 5 == 1 else "allowed",
            response_time_ms=float(n % 7),
        )
    return {"build": build, "other": other, "workspace": personal(user)}


def late_row(day: datetime, workspace: Any, key: Any) -> dict[str, Any]:
    return {
        "timestamp": day + timedelta(hours=13, minutes=5),
        "workspace_id": workspace.pk,
        "api_key_id": key.pk,
        "key_prefix": key.prefix,
        "method": "GET",
        "path": "/api/v1/whoami",
        "status_code": 200,
        "client_ip": "203.0.113.9",
        "client_ip_key": "4:cb007109",
        "decision": "allowed",
        "response_time_ms": 2.0,
    }


@pytest.mark.django_db
def test_sealed_days_equal_a_group_by_over_their_rows(days) -> None:
    sealed = daily.seal_days(NOW)
    first = day_of(NOW - timedelta(minutes=119 * 71 + 2))
    # Today has not ended; every earlier day has, by more than two hours.
    assert sealed == list(daily.days_between(first, day_of(NOW)))
    expected = {group: count for group, count in rows_per_day().items() if group[1] < day_of(NOW)}
    assert daily_rows() == expected
    assert daily.seal_days(NOW) == [], "a clean day is not summed again"


@pytest.mark.django_db
def test_a_day_is_sealed_two_hours_after_it_ends(days) -> None:
    yesterday = day_of(NOW) - timedelta(days=1)
    assert yesterday not in daily.seal_days(day_of(NOW) + timedelta(hours=1, minutes=59))
    assert daily.seal_days(day_of(NOW) + timedelta(hours=2)) == [yesterday]


@pytest.mark.django_db
def test_a_late_batch_for_a_sealed_day_is_counted_at_once_and_in_the_next_seal(days, monkeypatch) -> None:
    daily.seal_days(NOW)
    day = day_of(NOW) - timedelta(days=2)
    monkeypatch.setattr("usagelogs.rollup.timezone.now", lambda: NOW)
    insert_rows([late_row(day, days["workspace"], days["build"])] * 3)
    assert SealedDay.objects.get(day=day).dirty, "the batch marked its day in its own transaction"
    window = chart.window_for(NOW - timedelta(days=30), None, NOW)
    queryset = logs_for(workspace_id=days["workspace"].pk)
    charted = chart_counts(queryset, workspace_id=days["workspace"].pk, cleaned={}, **vars_of(window))
    assert charted == request_counts(queryset, **vars_of(window)), "the dirty day is read from its hours"
    assert daily.seal_days(NOW) == [day]
    assert daily_rows({day}) == {g: c for g, c in rows_per_day().items() if g[1] == day}


@pytest.mark.django_db
def test_a_batch_of_today_marks_nothing(days, monkeypatch) -> None:
    daily.seal_days(NOW)
    before = set(SealedDay.objects.values_list("day", "dirty"))
    monkeypatch.setattr("usagelogs.rollup.timezone.now", lambda: NOW)
    insert_rows([late_row(day_of(NOW) - timedelta(hours=12), days["workspace"], days["build"])])
    assert set(SealedDay.objects.values_list("day", "dirty")) == before


def vars_of(window: chart.Window) -> dict[str, Any]:
    return {"start": window.start, "end": window.end, "unit": window.unit}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [{}, {"api_key": "build"}, {"blocked": "true"}, {"status_code": "429"}, {"status_code": "4xx"}],
    ids=["none", "a key", "blocked", "429", "4xx"],
)
def test_a_30_day_chart_reads_sealed_days_from_the_daily_rollup(params, user, days) -> None:
    if "api_key" in params:
        params = {"api_key": str(days["build"].pk)}
    params = {**params, "since": (NOW - timedelta(days=30)).isoformat()}
    filterset = UsageLogFilter(
        params, queryset=logs_for(workspace_id=days["workspace"].pk), request=session_request(user)
    )
    assert filterset.is_valid(), filterset.errors
    cleaned = filterset.form.cleaned_data
    window = chart.window_for(cleaned["since"], None, NOW)
    assert window.unit == "day"
    expected = request_counts(filterset.qs, **vars_of(window))
    assert sum(sum(counted) for counted in expected.values()) > 0
    daily.seal_days(NOW)
    # With the hours of the sealed days gone, only the daily rollup can give their counts.
    UsageRollup.objects.filter(hour__lt=day_of(NOW)).delete()
    charted = chart_counts(filterset.qs, workspace_id=days["workspace"].pk, cleaned=cleaned, **vars_of(window))
    assert charted == expected


@pytest.mark.django_db
def test_prune_drops_the_days_before_the_cutoff_and_reseals_the_one_it_cuts(days, monkeypatch) -> None:
    daily.seal_days(NOW)
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    call_command("prune_usage_logs", "--days", "3", stdout=StringIO())
    cutoff = NOW - timedelta(days=3)
    assert not DailyRollup.objects.filter(day__lt=cutoff).exists()
    assert not SealedDay.objects.filter(day__lt=cutoff).exists()
    assert daily.seal_days(NOW) == [day_of(cutoff)], "the cut day is summed again from the hours it kept"
    hours = UsageRollup.objects.filter(hour__lt=day_of(NOW)).values_list("requests", flat=True)
    assert sum(daily_rows().values()) == sum(hours)


@pytest.mark.django_db
def test_the_command_seals_and_says_how_many(days) -> None:
    out = StringIO()
    call_command("seal_usage_rollup", stdout=out)
    assert "days sealed" in out.getvalue()
    assert clean(), "every ended day was sealed"


@pytest.mark.django_db(transaction=True)
def test_a_seal_racing_a_late_batch_never_loses_its_rows(days) -> None:
    """The writer's batch marks its day and holds its transaction open; the seal waits for it on
    PostgreSQL (the marker row is locked) and then sums the batch's rows with the rest."""
    day = day_of(timezone.now()) - timedelta(days=2)
    daily.seal_day(day)
    marked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        from django.db import connection as own
        from django.db import transaction

        try:
            with transaction.atomic():
                insert_rows([late_row(day, days["workspace"], days["build"])] * 4)
                marked.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            marked.set()
        finally:
            own.close()

    def sealer() -> None:
        from django.db import connection as own

        try:
            daily.seal_day(day)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=sealer)]
    threads[0].start()
    assert marked.wait(10)
    threads[1].start()
    time.sleep(0.3)
    if connection.vendor == "postgresql":
        assert threads[1].is_alive(), "the seal waits for the open batch"
    release.set()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    expected = {g: c for g, c in rows_per_day().items() if g[1] == day}
    if SealedDay.objects.get(day=day).dirty:
        daily.seal_day(day)  # the batch came second: its day waits for the next seal
    assert daily_rows({day}) == expected
