"""API Usage Logs: filters carried in the URL, the chart, and the CSV export of exactly the filtered rows."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .helpers import screenshot, seed_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = [
    "timestamp",
    "key_name",
    "key_prefix",
    "method",
    "path",
    "status_code",
    "client_ip",
    "decision",
    "error_code",
    "response_time_ms",
    "user_agent",
]


def seed(user: Any, other_user: Any, make_key: Any) -> dict[str, Any]:
    """Rows of two keys over the last week, oldest first, plus another owner's row that must never show."""
    build, _ = make_key(user, name="Build server", allow=["203.0.113.0/24"])
    staging, _ = make_key(user, name="Staging")
    now = timezone.now()
    expected = []
    for index, hours_ago in enumerate(range(161, -1, -7)):
        at = now - timedelta(hours=hours_ago, minutes=7)
        seed_log(user, build, at=at, path=f"/api/v1/keys/{index}")
        if index % 3 == 0:
            expected.append(
                seed_log(
                    user,
                    build,
                    ip="198.51.100.9",
                    status=403,
                    decision="blocked",
                    error="IP_NOT_ALLOWED",
                    path=f"/api/v1/blocked/{index}",
                    at=at,
                )
            )
        if index % 4 == 0:
            seed_log(
                user,
                staging,
                status=404,
                error="NOT_FOUND",
                path="/api/v1/keys/missing",
                at=at,
                method="DELETE",
                decision="unrestricted",
            )
    mallory_key, _ = make_key(other_user, name="Mallory")
    seed_log(other_user, mallory_key, ip="198.51.100.9", status=403, decision="blocked", path="/api/v1/mallory")
    return {"build": build, "staging": staging, "blocked": expected}


def test_filter_by_status_class_and_blocked_only_then_export_csv(
    browser_page: Any, sign_in: Any, user: Any, other_user: Any, make_key: Any
) -> None:
    data = seed(user, other_user, make_key)
    page = sign_in(user)
    page.goto("/settings/developer/logs/")
    rows = page.locator("table.log-table tbody tr")
    expect(rows).to_have_count(38)  # 24 + 8 blocked + 6 not found: one page
    chart = page.get_by_role("img", name=re.compile(r"38 requests from .*: 30 allowed and 8 blocked"))
    expect(chart).to_be_visible()
    screenshot(page, "usage-logs.png")

    page.get_by_label("Status code").fill("4xx")
    page.get_by_label("Blocked only").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status_code=4xx.*blocked=on"))
    expect(rows).to_have_count(len(data["blocked"]))
    for index in range(len(data["blocked"])):
        expect(rows.nth(index)).to_contain_text("Blocked")
        expect(rows.nth(index)).to_contain_text("403")
    expect(page.locator("table.log-table")).not_to_contain_text("/api/v1/mallory")

    page.get_by_label("API key").select_option(label=str(data["staging"]))
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", name="No requests match these filters")).to_be_visible()
    page.get_by_label("API key").select_option(label=str(data["build"]))
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(len(data["blocked"]))

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"api-usage-logs-\d{8}-\d{6}\.csv", download.suggested_filename)
    with open(download.path(), newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == HEADER
    exported = table[1:]
    assert sorted(row[4] for row in exported) == sorted(log.path for log in data["blocked"])
    assert {(row[1], row[3], row[5], row[6], row[7], row[8]) for row in exported} == {
        ("Build server", "GET", "403", "198.51.100.9", "blocked", "IP_NOT_ALLOWED")
    }
    assert all(row[0].endswith("Z") for row in exported)


def test_pagination_links_are_newer_and_older(browser_page: Any, sign_in: Any, user: Any, make_key: Any) -> None:
    key, _ = make_key(user, name="Busy")
    logs = [seed_log(user, key, path=f"/api/v1/n/{n}") for n in range(60)]
    page = sign_in(user)
    page.goto("/settings/developer/logs/?method=GET")
    rows = page.locator("table.log-table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_role("link", name="Newer")).to_have_count(0)
    page.get_by_role("link", name="Older").click()
    # The cursor names the last row shown: its time in microseconds since 1970, and its id.
    expect(page).to_have_url(re.compile(rf"method=GET&before=[0-9]+_{logs[10].id}$"))
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("/api/v1/n/9")
    expect(page.get_by_role("link", name="Older")).to_have_count(0)
    page.get_by_role("link", name="Newer").click()
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("/api/v1/n/59")


def test_empty_state_explains_what_to_do(browser_page: Any, sign_in: Any, user: Any) -> None:
    page = sign_in(user)
    page.goto("/settings/developer/logs/")
    expect(page.get_by_role("heading", name="No API requests yet")).to_be_visible()
    expect(page.get_by_role("link", name="Create one in API Keys")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("No requests from"))).to_be_visible()
