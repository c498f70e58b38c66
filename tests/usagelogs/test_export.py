"""The CSV export's pieces: cell neutralisation, timestamps, the renderer and the streamed response."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from usagelogs.api import CsvRenderer
from usagelogs.export import HEADER, csv_lines, export_filename, safe_cell

ROW = (
    datetime(2026, 11, 30, 9, 5, 7, 123456, tzinfo=UTC),
    "=cmd()",
    "abcd1234",
    "GET",
    "/api/v1/whoami",
    200,
    "203.0.113.5",
    "allowed",
    "",
    1.5,
    "@curl",
)


@pytest.mark.parametrize(
    "value, written",
    [
        pytest.param("=1+1", "'=1+1", id="equals"),
        pytest.param("+1", "'+1", id="plus"),
        pytest.param("-1", "'-1", id="minus"),
        pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
        pytest.param("\tx", "'\tx", id="tab"),
        pytest.param("\rx", "'\rx", id="cr"),
        pytest.param("\nx", "'\nx", id="lf"),
        pytest.param("curl/8.5", "curl/8.5", id="plain"),
        pytest.param(200, 200, id="number"),
        pytest.param(None, None, id="none"),
    ],
)
def test_safe_cell(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_lines_are_the_header_then_neutralised_rows_with_utc_timestamps() -> None:
    other_zone = (ROW[0].astimezone(timezone(timedelta(hours=2))), *ROW[1:])
    rows = list(csv.reader(io.StringIO("".join(csv_lines([ROW, other_zone])))))
    assert rows[0] == HEADER
    assert rows[1] == [
        "2026-11-30T09:05:07.123Z",
        "'=cmd()",
        "abcd1234",
        "GET",
        "/api/v1/whoami",
        "200",
        "203.0.113.5",
        "allowed",
        "",
        "1.5",
        "'@curl",
    ]
    assert rows[2] == rows[1]


def test_the_renderer_renders_csv_not_json() -> None:
    rendered = CsvRenderer().render([ROW]).decode()
    assert rendered.splitlines()[0] == ",".join(HEADER)
    assert rendered.splitlines()[1].startswith("2026-11-30T09:05:07.123Z,'=cmd(),abcd1234,GET,")
    assert CsvRenderer().render(None).decode().strip() == ",".join(HEADER)


def test_the_file_name_is_utc() -> None:
    moment = datetime(2026, 1, 2, 1, 2, 3, tzinfo=timezone(timedelta(hours=5)))
    assert export_filename(moment) == "api-usage-logs-20260101-200203.csv"


@pytest.mark.django_db
def test_options_on_the_export_is_405_in_the_envelope_not_a_crash(user: object, make_key: object, api: object) -> None:
    _, secret = make_key(user)  # type: ignore[operator]
    response = api(secret).options("/api/v1/usage-logs/export")  # type: ignore[operator]
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert api(secret).head("/api/v1/usage-logs/export").status_code == 200  # type: ignore[operator]
