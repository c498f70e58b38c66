"""API Usage Logs page through Django's test client, and the chart's pure functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys.networks import parse_client_address, sortable_key
from tests.usagelogs.helpers import personal, signed_in, team_of, written
from usagelogs import chart
from usagelogs.models import UsageLog
from usagelogs.selectors import Position

LOGS = "/settings/developer/logs/"
UTC = UTC


def log(key: Any, **fields: Any) -> UsageLog:
    """A row of ``key``, in the key's workspace unless ``workspace`` is given."""
    ip = fields.pop("ip", "203.0.113.5")
    address = parse_client_address(ip)
    values = {"method": "GET", "path": "/api/v1/whoami", "status_code": 200, "decision": "allowed", **fields}
    values.setdefault("workspace_id", key.workspace_id if key else None)
    return written(
        api_key=key,
        key_prefix=key.prefix if key else "",
        client_ip=ip,
        client_ip_key=sortable_key(address.version, address.value),
        **values,
    )


def position(row_id: int) -> str:
    """The cursor of a row in a URL: its time in microseconds since 1970, and its id."""
    moment = UsageLog.objects.get(id=row_id).timestamp
    return f"{(moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)}_{row_id}"


def shown_ids(response: Any) -> list[int]:
    return [int(value) for value in re.findall(r'data-log-id="(\d+)"', response.content.decode())]


@pytest.fixture
def logs(user: Any, other_user: Any, make_key: Any) -> dict[str, Any]:
    build, _ = make_key(user, name="Build")
    other, _ = make_key(user, name="Other")
    rows = {
        "ok": log(build),
        "blocked": log(build, status_code=403, decision="blocked", error_code="IP_NOT_ALLOWED", ip="198.51.100.9"),
        "missing": log(other, status_code=404, method="DELETE", decision="unrestricted"),
        "report": log(build, decision="would_block", ip="198.51.100.200"),
        "old": log(build, status_code=500, timestamp=timezone.now() - timedelta(days=3)),
    }
    mallory, _ = make_key(other_user, name="Mallory")
    rows["foreign"] = log(mallory, status_code=403, decision="blocked")
    # A request that named no known key belongs to no workspace: staff see it in the admin.
    rows["nobody"] = log(None, status_code=401, decision="none")
    return {"rows": rows, "build": build, "other": other, "mallory": mallory}


pytestmark = pytest.mark.django_db


def test_only_the_current_workspace_s_rows_are_listed(user: Any, logs: dict[str, Any]) -> None:
    response = signed_in(user).get(LOGS)
    rows = logs["rows"]
    # Newest first by time: the row of three days ago comes last, though written last.
    assert shown_ids(response) == [rows[n].id for n in ("report", "missing", "blocked", "ok", "old")]


def test_a_team_workspace_shows_every_member_s_requests_and_nothing_else(
    user: Any, other_user: Any, make_key: Any, logs: dict[str, Any]
) -> None:
    team = team_of(user, other_user)
    theirs, _ = make_key(other_user, name="Team deploy", scopes=["logs:read"], workspace_id=team.pk)
    mine, _ = make_key(user, name="Team backup", workspace_id=team.pk)
    team_rows = [log(theirs).id, log(mine, status_code=403, decision="blocked").id]
    session_row = log(None, workspace_id=team.pk, path="/api/v1/keys").id

    response = signed_in(user, workspace=team).get(LOGS)
    assert shown_ids(response) == sorted([*team_rows, session_row], reverse=True)
    html = response.content.decode()
    assert "Team deploy (" in html and "Team backup (" in html and "Build (" not in html
    assert (response.context["chart"].allowed, response.context["chart"].blocked) == (2, 1)
    assert shown_ids(signed_in(other_user, workspace=team).get(LOGS, {"api_key": mine.pk})) == [team_rows[1]]
    # Their personal workspace stays theirs.
    assert shown_ids(signed_in(other_user).get(LOGS)) == [logs["rows"]["foreign"].id]


def test_a_workspace_the_user_is_not_a_member_of_shows_their_personal_one(
    user: Any, other_user: Any, make_key: Any
) -> None:
    team = team_of(other_user)
    theirs, _ = make_key(other_user, workspace_id=team.pk)
    log(theirs)
    mine, _ = make_key(user)
    assert mine.workspace_id == personal(user).pk
    row = log(mine)
    assert shown_ids(signed_in(user, workspace=team).get(LOGS)) == [row.id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status_code=4xx", {"blocked", "missing"}),
        ("status_code=404", {"missing"}),
        ("status_code=5xx", {"old"}),
        ("method=DELETE", {"missing"}),
        ("blocked=on", {"blocked"}),
        ("status_code=4xx&blocked=on", {"blocked"}),
        ("decision=would_block", {"report"}),
        ("client_ip=198.51.100.0/24", {"blocked", "report"}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_filters_narrow_the_rows(user: Any, logs: dict[str, Any], query: str, expected: set[str]) -> None:
    response = signed_in(user).get(f"{LOGS}?{query}")
    assert set(shown_ids(response)) == {logs["rows"][name].id for name in expected}


def test_key_and_date_filters(user: Any, logs: dict[str, Any]) -> None:
    client = signed_in(user)
    assert shown_ids(client.get(LOGS, {"api_key": logs["other"].pk})) == [logs["rows"]["missing"].id]
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert logs["rows"]["old"].id not in shown_ids(client.get(LOGS, {"since": since}))
    until = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert shown_ids(client.get(LOGS, {"until": until})) == [logs["rows"]["old"].id]


def test_the_key_choice_lists_only_the_users_keys(user: Any, logs: dict[str, Any]) -> None:
    client = signed_in(user)
    html = client.get(LOGS).content.decode()
    assert "Build (" in html and "Other (" in html and "Mallory" not in html
    response = client.get(LOGS, {"api_key": logs["mallory"].pk})
    assert "Select a valid choice" in response.content.decode()
    assert shown_ids(response) == []


def test_an_invalid_filter_explains_itself(user: Any, logs: dict[str, Any]) -> None:
    html = signed_in(user).get(LOGS, {"status_code": "4x"}).content.decode()
    assert "Enter a status code such as 404, or a class such as 4xx." in html
    assert "Export CSV" not in html


def test_export_link_carries_the_filters_but_no_cursor(user: Any, logs: dict[str, Any]) -> None:
    client = signed_in(user)
    html = client.get(LOGS, {"status_code": "4xx", "blocked": "on", "before": "999999"}).content.decode()
    href = re.search(r'<a class="button page-head__action" href="([^"]+)"', html).group(1)
    assert href == "/api/v1/usage-logs/export?status_code=4xx&amp;blocked=on"
    response = client.get(href.replace("&amp;", "&"))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == (
        "timestamp,key_name,key_prefix,method,path,status_code,client_ip,decision,error_code,"
        "response_time_ms,user_agent"
    )
    assert len(lines) == 2 and ",403,198.51.100.9,blocked,IP_NOT_ALLOWED," in lines[1]


def test_cursor_pagination_newer_and_older(user: Any, make_key: Any) -> None:
    key, _ = make_key(user)
    ids = [log(key, path=f"/api/v1/n/{n}").id for n in range(120)]
    newest_first = ids[::-1]
    client = signed_in(user)

    first = client.get(LOGS, {"method": "GET"})
    assert shown_ids(first) == newest_first[:50]
    assert first.context["newer_url"] is None
    assert first.context["older_url"] == f"{LOGS}?method=GET&before={position(newest_first[49])}"
    second = client.get(first.context["older_url"])
    assert shown_ids(second) == newest_first[50:100]
    third = client.get(second.context["older_url"])
    assert shown_ids(third) == newest_first[100:]
    assert third.context["older_url"] is None
    assert third.context["newer_url"] == f"{LOGS}?method=GET&after={position(newest_first[100])}"
    back = client.get(third.context["newer_url"])
    assert shown_ids(back) == newest_first[50:100]
    assert shown_ids(client.get(back.context["newer_url"])) == newest_first[:50]
    assert "page=" not in first.content.decode()


def test_the_page_counts_nothing_over_the_table_and_never_offsets(user: Any, make_key: Any) -> None:
    key, _ = make_key(user)
    for _n in range(60):
        log(key)
    client = signed_in(user)
    cursor = str(Position.of(UsageLog.objects.order_by("-timestamp", "-id")[10]))
    with CaptureQueriesContext(connection) as captured:
        client.get(LOGS, {"before": cursor})
    sql = [query["sql"].upper() for query in captured.captured_queries]
    assert not any("OFFSET" in query for query in sql)
    assert not any("COUNT(" in query and "GROUP BY" not in query for query in sql)


def test_empty_states(user: Any, make_key: Any) -> None:
    client = signed_in(user)
    assert "No API requests yet" in client.get(LOGS).content.decode()
    key, _ = make_key(user)
    log(key)
    assert "No requests match these filters" in client.get(LOGS, {"status_code": "5xx"}).content.decode()


def test_the_chart_counts_allowed_and_blocked_in_the_filtered_period(user: Any, logs: dict[str, Any]) -> None:
    response = signed_in(user).get(LOGS)
    drawn = response.context["chart"]
    assert (drawn.allowed, drawn.blocked, drawn.unit) == (4, 1, "hour")
    html = response.content.decode()
    assert '<svg class="chart__plot"' in html and 'aria-labelledby="chart-summary"' in html
    assert "5 requests from" in drawn.summary and "4 allowed and 1 blocked" in drawn.summary


def test_chart_window_defaults_to_seven_days_by_hour() -> None:
    now = datetime(2025, 3, 10, 12, 34, tzinfo=UTC)
    window = chart.window_for(None, None, now)
    assert (window.start, window.end, window.unit) == (
        datetime(2025, 3, 3, 12, tzinfo=UTC),
        datetime(2025, 3, 10, 13, tzinfo=UTC),
        "hour",
    )
    assert len(chart.fill(window, {})) == 169


def test_chart_window_uses_days_beyond_a_week_and_stops_at_a_year() -> None:
    now = datetime(2025, 3, 10, 12, 34, tzinfo=UTC)
    month = chart.window_for(datetime(2025, 2, 1, 5, tzinfo=UTC), None, now)
    assert (month.start, month.end, month.unit, month.clamped) == (
        datetime(2025, 2, 1, tzinfo=UTC),
        datetime(2025, 3, 11, tzinfo=UTC),
        "day",
        False,
    )
    decade = chart.window_for(datetime(2015, 1, 1, tzinfo=UTC), None, now)
    assert decade.clamped and len(chart.fill(decade, {})) <= 368


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 2), (1, 2), (3, 4), (7, 8), (9, 10), (11, 20), (41, 60), (999, 1000)]
)
def test_nice_ceiling(value: int, ceiling: int) -> None:
    assert chart.nice_ceiling(value) == ceiling


def test_build_chart_stacks_blocked_on_allowed() -> None:
    start = datetime(2025, 3, 10, tzinfo=UTC)
    window = chart.Window(start, start + timedelta(hours=3), "hour")
    buckets = chart.fill(window, {start + timedelta(hours=1): (3, 1)})
    drawn = chart.build_chart(buckets, window)
    assert [bar.allowed_height for bar in drawn.bars] == [0, 75.0, 0]
    middle = drawn.bars[1]
    assert (middle.allowed_y, middle.blocked_height, middle.blocked_y) == (25.0, 25.0, 0.0)
    assert drawn.y_labels == ("4", "2", "0") and drawn.width == 30
    assert middle.title == "2025-03-10 01:00 UTC: 3 allowed, 1 blocked"
    assert drawn.summary.startswith(
        "4 requests from 2025-03-10 00:00 to 2025-03-10 03:00 UTC: 3 allowed and 1 blocked."
    )
