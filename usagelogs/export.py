"""Streaming CSV export of usage logs, with every cell neutralised for spreadsheets."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

HEADER = [
    "timestamp", "key_name", "key_prefix", "method", "path", "status_code", "client_ip",
    "decision", "error_code", "response_time_ms", "user_agent",
]
_COLUMNS = [
    "timestamp", "api_key__name", "key_prefix", "method", "path", "status_code", "client_ip",
    "decision", "error_code", "response_time_ms", "user_agent",
]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
CHUNK_ROWS = 2000


def safe_cell(value: Any) -> Any:
    """Neutralise a cell a spreadsheet would run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _timestamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """The header line, then one line per ``_COLUMNS`` row, written in chunks."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([_timestamp(row[0]), *map(safe_cell, row[1:])]))
        if len(chunk) >= 500:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def export_filename(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("api-usage-logs-%Y%m%d-%H%M%S.csv")


def csv_response(queryset: QuerySet, now: datetime) -> StreamingHttpResponse:
    """Stream ``queryset`` as CSV without holding it in memory."""
    rows = queryset.values_list(*_COLUMNS).iterator(chunk_size=CHUNK_ROWS)
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(now)}"'
    response["Cache-Control"] = "no-store"
    return response
