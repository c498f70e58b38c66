"""Reads of usage logs, scoped to their workspace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour

from .models import Decision, UsageLog


def logs_for(*, workspace_id: Any) -> QuerySet[UsageLog]:
    """The workspace's log rows, newest first. Rows with no workspace are for staff, in the admin."""
    return UsageLog.objects.filter(workspace_id=workspace_id).order_by("-id")


def blocked_ips_for(*, workspace_id: Any, key_id: UUID, since: datetime) -> list[Mapping[str, Any]]:
    """IPs refused by a key's allowlist since ``since``: address, count and when last seen."""
    return list(
        UsageLog.objects.filter(
            workspace_id=workspace_id,
            api_key_id=key_id,
            timestamp__gte=since,
            decision__in=[Decision.BLOCKED, Decision.WOULD_BLOCK],
        )
        .exclude(client_ip=None)
        .values("client_ip")
        .annotate(count=Count("id"), last_seen=Max("timestamp"))
        .order_by("-last_seen")[:50]
    )


def used_from_for(*, workspace_id: Any, key_id: UUID, since: datetime) -> list[str]:
    """The distinct addresses a key got a 2xx or 3xx answer for since ``since`` (leak containment)."""
    rows = (
        UsageLog.objects.filter(
            workspace_id=workspace_id,
            api_key_id=key_id,
            timestamp__gte=since,
            status_code__gte=200,
            status_code__lt=400,
        )
        .exclude(client_ip=None)
        .order_by()
        .values_list("client_ip", flat=True)
        .distinct()
    )
    return [str(address) for address in rows]


def request_counts(
    queryset: QuerySet[UsageLog], *, start: datetime, end: datetime, unit: str
) -> dict[datetime, tuple[int, int]]:
    """``{bucket start: (allowed, blocked)}`` per hour or day of ``queryset`` within ``[start, end)``.

    Anything the allowlist did not block counts as allowed.
    """
    trunc = TruncHour if unit == "hour" else TruncDay
    rows = (
        queryset.order_by()
        .filter(timestamp__gte=start, timestamp__lt=end)
        .annotate(bucket=trunc("timestamp"))
        .values("bucket")
        .annotate(total=Count("id"), blocked=Count("id", filter=Q(decision=Decision.BLOCKED)))
    )
    return {row["bucket"]: (row["total"] - row["blocked"], row["blocked"]) for row in rows}


@dataclass(frozen=True, slots=True)
class LogPage:
    """One page of rows, newest first, with the cursors of the pages around it (``None``: none)."""

    rows: list[UsageLog]
    newer_cursor: int | None
    older_cursor: int | None


def log_page(
    queryset: QuerySet[UsageLog], *, before: int | None = None, after: int | None = None, size: int = 50
) -> LogPage:
    """Keyset pagination on id: rows older than ``before`` or newer than ``after``; no OFFSET, no COUNT."""
    if after is not None:
        chunk = list(queryset.filter(id__gt=after).order_by("id")[: size + 1])
        rows = chunk[:size][::-1]
        has_newer = len(chunk) > size
        has_older = bool(rows) and queryset.filter(id__lt=rows[-1].id).exists()
    else:
        scoped = queryset.filter(id__lt=before) if before is not None else queryset
        chunk = list(scoped.order_by("-id")[: size + 1])
        rows = chunk[:size]
        has_older = len(chunk) > size
        has_newer = before is not None and bool(rows) and queryset.filter(id__gt=rows[0].id).exists()
    return LogPage(rows, rows[0].id if has_newer else None, rows[-1].id if has_older else None)
