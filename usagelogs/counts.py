"""Requests counted per hour or day, for the chart, and per key: from the hourly rollup and its
daily level wherever they hold the filter, from the log rows otherwise (SPEC §19)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour

from .daily import DAY, clean_days
from .models import DailyRollup, Decision, StatusClass, UsageLog, UsageRollup
from .rollup import day_of, hour_of


def request_counts(
    queryset: QuerySet[UsageLog], *, start: datetime, end: datetime, unit: str
) -> dict[datetime, tuple[int, int, int]]:
    """``{bucket start: (allowed, blocked, limited)}`` per hour or day of ``queryset`` within ``[start, end)``.

    ``limited`` counts the 429s (a key's rate limit or quota); anything else the allowlist did not
    block counts as allowed.
    """
    trunc = TruncHour if unit == "hour" else TruncDay
    rows = (
        queryset.order_by()
        .filter(timestamp__gte=start, timestamp__lt=end)
        .annotate(bucket=trunc("timestamp"))
        .values("bucket")
        .annotate(
            total=Count("id"),
            blocked=Count("id", filter=Q(decision=Decision.BLOCKED)),
            limited=Count("id", filter=Q(status_code=429)),
        )
    )
    return {
        row["bucket"]: (row["total"] - row["blocked"] - row["limited"], row["blocked"], row["limited"]) for row in rows
    }


HOUR = timedelta(hours=1)


def _rollup_filter(cleaned: Mapping[str, Any]) -> Q | None:
    """The filters as a condition on the rollup, or ``None`` when the rollup cannot answer them
    (method, client IP, an exact status code other than 429)."""
    if cleaned.get("method") or cleaned.get("client_ip"):
        return None
    condition = Q()
    if cleaned.get("api_key") is not None:
        condition &= Q(key_id=cleaned["api_key"].pk)
    if cleaned.get("decision"):
        condition &= Q(decision=cleaned["decision"])
    if cleaned.get("blocked"):
        condition &= Q(decision=Decision.BLOCKED)
    status = cleaned.get("status_code")
    if status:
        low, high = status
        if low == high == 429:
            condition &= Q(status_class=StatusClass.TOO_MANY)
        elif low == high:
            return None
        else:
            classes = [f"{low // 100}xx"] + (["429"] if low == 400 else [])
            condition &= Q(status_class__in=classes)
    return condition


def _ceil_hour(moment: datetime) -> datetime:
    floor = hour_of(moment)
    return floor if floor == moment else floor + HOUR


def chart_counts(
    queryset: QuerySet[UsageLog],
    *,
    workspace_id: Any,
    cleaned: Mapping[str, Any],
    start: datetime,
    end: datetime,
    unit: str,
) -> dict[datetime, tuple[int, int, int]]:
    """What :func:`request_counts` answers, read from the hourly rollup for every whole hour.

    Hours cut by ``since`` or ``until``, and filters the rollup does not hold, are counted from the
    log rows of ``queryset`` (already filtered); a partial hour at either end costs one index range.
    """
    condition = _rollup_filter(cleaned)
    if condition is None:
        return request_counts(queryset, start=start, end=end, unit=unit)
    low = max(start, cleaned["since"]) if cleaned.get("since") else start
    high = min(end, cleaned["until"]) if cleaned.get("until") else end
    whole_low, whole_high = _ceil_hour(low), hour_of(high)
    if whole_low >= whole_high:
        return request_counts(queryset, start=low, end=high, unit=unit)
    totals: dict[datetime, list[int]] = {}
    hours, days = [(whole_low, whole_high)], set[datetime]()
    if unit == "day":
        hours, days = _split_by_sealed_days(whole_low, whole_high)
    if hours:
        # Summed per bucket in the database, so that a chart reads a row per bar, not every group.
        hourly = UsageRollup.objects.filter(
            _any_of(Q(hour__gte=since, hour__lt=until) for since, until in hours), condition, workspace_id=workspace_id
        )
        _add_buckets(totals, hourly.annotate(bucket=(TruncHour if unit == "hour" else TruncDay)("hour", tzinfo=UTC)))
    if days:
        daily = DailyRollup.objects.filter(condition, workspace_id=workspace_id, day__in=days)
        _add_buckets(totals, daily.annotate(bucket=F("day")))
    for edge_start, edge_end in ((low, whole_low), (whole_high, high)):
        if edge_start < edge_end:
            for bucket, edge in request_counts(queryset, start=edge_start, end=edge_end, unit=unit).items():
                counted = totals.setdefault(bucket, [0, 0, 0])
                for index, count in enumerate(edge):
                    counted[index] += count
    return {bucket: (allowed, blocked, limited) for bucket, (allowed, blocked, limited) in totals.items()}


def _add_buckets(totals: dict[datetime, list[int]], rollup: QuerySet[Any]) -> None:
    """Add ``rollup``'s requests per ``bucket`` to ``totals``, as ``[allowed, blocked, limited]``."""
    rows = (
        rollup.values("bucket")
        .annotate(
            total=Sum("requests"),
            blocked=Sum("requests", filter=Q(decision=Decision.BLOCKED)),
            limited=Sum("requests", filter=Q(status_class=StatusClass.TOO_MANY)),
        )
        .order_by()
    )
    for row in rows:
        counted = totals.setdefault(row["bucket"].astimezone(UTC), [0, 0, 0])
        blocked, limited = row["blocked"] or 0, row["limited"] or 0
        counted[0] += row["total"] - blocked - limited
        counted[1] += blocked
        counted[2] += limited


def _any_of(conditions: Any) -> Q:
    found = Q()
    for condition in conditions:
        found |= condition
    return found


def _split_by_sealed_days(low: datetime, high: datetime) -> tuple[list[tuple[datetime, datetime]], set[datetime]]:
    """``[low, high)`` (whole hours) as the sealed, clean days inside it, read from the daily rollup,
    and the hour ranges around and between them, read from the hourly one (see daily.py)."""
    first = day_of(low) if day_of(low) == low else day_of(low) + DAY
    days = clean_days(first, day_of(high)) if first < day_of(high) else set()
    hours: list[tuple[datetime, datetime]] = []
    start = low
    for day in sorted(days):
        if start < day:
            hours.append((start, day))
        start = day + DAY
    if start < high:
        hours.append((start, high))
    return hours, days


def usage_counts(*, workspace_id: Any, key_ids: list[UUID], since: datetime) -> dict[UUID, int]:
    """Requests per key since ``since`` (rounded down to its hour), from the hourly rollup."""
    rows = (
        UsageRollup.objects.filter(workspace_id=workspace_id, key_id__in=key_ids, hour__gte=hour_of(since))
        .values("key_id")
        .annotate(total=Sum("requests"))
    )
    return {row["key_id"]: row["total"] for row in rows}
