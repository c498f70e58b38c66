"""429s of a key's rate limit or quota in the usage logs and the chart, under their own colour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.usagelogs.helpers import signed_in
from usagelogs import chart

pytestmark = pytest.mark.django_db
LOGS = "/settings/developer/logs/"


def test_rate_limited_requests_are_logged_and_charted_apart(user: Any, make_key: Any, api: Any) -> None:
    _, secret = make_key(user, rate_limit={"requests": 2, "per": "hour"})
    statuses = [api(secret).get("/api/v1/whoami").status_code for _ in range(5)]
    assert statuses == [200, 200, 429, 429, 429]

    client = signed_in(user)
    response = client.get(LOGS)
    drawn = response.context["chart"]
    assert (drawn.allowed, drawn.blocked, drawn.limited) == (2, 0, 3)
    html = response.content.decode()
    assert 'class="chart__limited"' in html and "Rate limited" in html
    assert "2 allowed, 0 blocked and 3 rate limited" in drawn.summary
    filtered = client.get(LOGS, {"status_code": "429"}).content.decode()
    assert filtered.count("RATE_LIMITED") >= 3


def test_build_chart_stacks_limited_on_top() -> None:
    start = datetime(2025, 3, 10, tzinfo=UTC)
    window = chart.Window(start, start + timedelta(hours=1), "hour")
    drawn = chart.build_chart(chart.fill(window, {start: (4, 2, 2)}), window)
    bar = drawn.bars[0]
    assert (bar.allowed_height, bar.blocked_height, bar.limited_height) == (50.0, 25.0, 25.0)
    assert (bar.blocked_y, bar.limited_y) == (25.0, 0.0)
    assert bar.title.endswith("4 allowed, 2 blocked, 2 rate limited")
