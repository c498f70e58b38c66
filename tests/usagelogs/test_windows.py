"""Pages read in time windows (the newest day, then a week, then a month, then the whole range)
show exactly what one read of the whole range shows, forwards and back, with and without date
filters, on both databases. On PostgreSQL a page whose rows are recent is planned over the
partitions of its window only: the old days' partitions are not even opened."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tests.browser.helpers import seed_log
from usagelogs import partitions
from usagelogs.models import UsageLog
from usagelogs.selectors import Position, log_page, logs_for

pytestmark = pytest.mark.django_db
LIST = "/api/v1/usage-logs"
# Ages in days: two rows within the newest day, then rows a window or more apart, back to 80 days.
AGES = [0.01, 0.5, 2, 5, 6.5, 10, 20, 33, 45, 80, 80.2]


@pytest.fixture
def spread(user: Any, make_key: Any) -> dict[str, Any]:
    """One key's rows at :data:`AGES`, another key's row now; both in the user's personal workspace."""
    key, _ = make_key(user, name="spread")
    other, _ = make_key(user, name="recent")
    now = timezone.now()
    rows = [seed_log(user, key, path=f"/api/v1/{age}", at=now - timedelta(days=age)) for age in AGES]
    seed_log(user, other, path="/api/v1/other", at=now)
    return {"key": key, "other": other, "now": now, "paths": [row.path for row in rows]}


def api_pages(client: APIClient, params: dict[str, str]) -> tuple[list[list[str]], list[list[str]]]:
    """Every page following ``next``, then every page back following ``previous`` from the last."""
    forward, back = [], []
    response = client.get(LIST, params)
    while True:
        body = response.json()
        forward.append([row["path"] for row in body["results"]])
        if not body["next"]:
            break
        response = client.get(body["next"])
    while body["previous"]:
        body = client.get(body["previous"]).json()
        back.append([row["path"] for row in body["results"]])
    return forward, back


def chunks(paths: list[str], size: int) -> list[list[str]]:
    return [paths[n : n + size] for n in range(0, len(paths), size)]


@pytest.mark.parametrize("size", [1, 3, 4])
def test_api_pages_walk_every_row_newest_first_and_back(user: Any, spread: dict[str, Any], size: int) -> None:
    client = APIClient()
    client.force_login(user)
    forward, back = api_pages(client, {"api_key": str(spread["key"].pk), "page_size": str(size)})
    expected = chunks(spread["paths"], size)
    assert forward == expected
    assert back == expected[:-1][::-1]


def test_api_pages_keep_the_date_filters(user: Any, spread: dict[str, Any]) -> None:
    client = APIClient()
    client.force_login(user)
    now = spread["now"]
    since, until = (now - timedelta(days=50)).isoformat(), (now - timedelta(days=1)).isoformat()
    params = {"api_key": str(spread["key"].pk), "page_size": "2", "since": since, "until": until}
    forward, back = api_pages(client, params)
    inside = [path for path, age in zip(spread["paths"], AGES, strict=True) if 1 <= age <= 50]
    assert forward == chunks(inside, 2)
    assert back == chunks(inside, 2)[:-1][::-1]


@pytest.mark.parametrize(
    ("since_days", "until_days"),
    [(None, None), (60, None), (None, 3), (40, 1.5)],
    ids=["all", "since", "until", "both"],
)
def test_page_cursors_walk_every_row_older_and_newer(
    user: Any, spread: dict[str, Any], since_days: float | None, until_days: float | None
) -> None:
    now = spread["now"]
    since = now - timedelta(days=since_days) if since_days is not None else None
    until = now - timedelta(days=until_days) if until_days is not None else None
    queryset = logs_for(workspace_id=spread["key"].workspace_id).filter(api_key=spread["key"])
    if since is not None:
        queryset = queryset.filter(timestamp__gte=since)
    if until is not None:
        queryset = queryset.filter(timestamp__lte=until)
    expected = chunks([row.path for row in queryset], 3)
    assert len(expected) > 1

    pages, page = [], log_page(queryset, size=3, since=since, until=until)
    while True:
        pages.append([row.path for row in page.rows])
        if page.older_cursor is None:
            break
        page = log_page(queryset, before=page.older_cursor, size=3, since=since, until=until)
    assert pages == expected
    back = []
    while page.newer_cursor is not None:
        page = log_page(queryset, after=page.newer_cursor, size=3, since=since, until=until)
        back.append([row.path for row in page.rows])
    assert back == expected[:-1][::-1]
    assert page.newer_cursor is None


def test_a_row_in_the_future_is_still_the_first_row(user: Any, spread: dict[str, Any]) -> None:
    """A server whose clock runs ahead writes rows after now: the newest day's window includes them."""
    ahead = seed_log(user, spread["key"], path="/api/v1/ahead", at=spread["now"] + timedelta(days=3))
    queryset = logs_for(workspace_id=spread["key"].workspace_id).filter(api_key=spread["key"])
    assert [row.path for row in log_page(queryset, size=2).rows] == [ahead.path, spread["paths"][0]]
    client = APIClient()
    client.force_login(user)
    body = client.get(LIST, {"api_key": str(spread["key"].pk), "page_size": "2"}).json()
    assert [row["path"] for row in body["results"]] == [ahead.path, spread["paths"][0]]


def explained(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        return json.dumps(cursor.fetchone()[0])


def page_queries(client: APIClient, params: dict[str, str]) -> list[str]:
    """The plans of the log queries a page of the API ran."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST, params).status_code == 200
    table = UsageLog._meta.db_table
    return [
        explained(query["sql"], None)
        for query in captured.captured_queries
        if f'FROM "{table}"' in query["sql"] and query["sql"].startswith("SELECT")
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps one table")
def test_a_page_of_recent_rows_is_planned_over_its_window_s_partitions_only(user: Any, spread: dict[str, Any]) -> None:
    partitions.ensure_partitions(days_ahead=7, now=spread["now"])  # the old rows move into their days
    old_days = {
        partitions.partition_name(partitions.day_start(spread["now"] - timedelta(days=age))) for age in (20, 45, 80)
    }
    assert old_days <= {p.name for p in partitions.partitions()}
    client = APIClient()
    client.force_login(user)

    plans = page_queries(client, {"api_key": str(spread["key"].pk), "page_size": "1"})
    assert len(plans) == 1  # the newest day held the page
    assert not any(name in plans[0] for name in old_days)

    # The other key has nothing older than today: its page looks through the week and the month,
    # then reads the whole range, which alone is planned over the old days.
    plans = page_queries(client, {"api_key": str(spread["other"].pk), "page_size": "2"})
    assert len(plans) == 4
    assert [any(name in plan for name in old_days) for plan in plans] == [False, False, True, True]
    assert all(name in plans[-1] for name in old_days)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps one table")
def test_a_cursor_far_back_reads_the_days_below_it(user: Any, spread: dict[str, Any]) -> None:
    partitions.ensure_partitions(days_ahead=7, now=spread["now"])
    queryset = logs_for(workspace_id=spread["key"].workspace_id).filter(api_key=spread["key"])
    row = queryset.get(path="/api/v1/20")
    with CaptureQueriesContext(connection) as captured:
        page = log_page(queryset, before=Position.of(row), size=1)
    assert [r.path for r in page.rows] == ["/api/v1/33"]
    assert page.newer_cursor is not None and page.older_cursor is not None
    plans = [explained(q["sql"], None) for q in captured.captured_queries]
    recent = partitions.partition_name(partitions.day_start(spread["now"]))
    assert plans and not any(recent in plan for plan in plans)
