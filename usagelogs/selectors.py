"""Reads of usage logs, scoped to their workspace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connections
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from .models import Decision, UsageLog

NEWEST_FIRST = ("-timestamp", "-id")


def logs_for(*, workspace_id: Any) -> QuerySet[UsageLog]:
    """The workspace's log rows, newest first. Rows with no workspace are for staff, in the admin."""
    return UsageLog.objects.filter(workspace_id=workspace_id).order_by(*NEWEST_FIRST)


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_POSITION = re.compile(r"(-?[0-9]{1,17})_([0-9]{1,19})")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts or ends: a row's time and id, written ``<microseconds>_<id>`` in URLs."""

    timestamp: datetime
    id: int

    @classmethod
    def of(cls, row: UsageLog) -> Position:
        return cls(row.timestamp, row.id)

    @classmethod
    def parse(cls, text: str) -> Position | None:
        """The position a cursor names, or ``None`` for anything else."""
        match = _POSITION.fullmatch(text)
        if not match:
            return None
        try:
            return cls(_EPOCH + timedelta(microseconds=int(match.group(1))), int(match.group(2)))
        except OverflowError:
            return None

    def __str__(self) -> str:
        return f"{(self.timestamp - _EPOCH) // timedelta(microseconds=1)}_{self.id}"


# How far from where it starts a read in time order looks before it widens: a day, a week, a month,
# then the whole range. On PostgreSQL each window is pruned to its days' partitions when the query
# is planned; a query that no time bound narrows is planned over every daily partition and costs
# 30-40 ms of planning for under 2 ms of work (docs/SCALING.md).
WINDOWS = (timedelta(days=1), timedelta(days=7), timedelta(days=31))


def read_in_windows(
    queryset: QuerySet[UsageLog],
    stop: int,
    *,
    start: int = 0,
    newest_first: bool = True,
    anchor: datetime | None = None,
    bound: datetime | None = None,
) -> list[UsageLog]:
    """``list(queryset[start:stop])`` for a queryset ordered by time, newest or oldest first.

    On PostgreSQL it reads the day from ``anchor`` (where the answer starts: a cursor's time,
    ``until``, or now) first, then a week, then a month, and the whole queryset only when those hold
    fewer than ``stop`` rows. A window cuts the answer only at its far end, so its rows are the first
    rows of the whole answer and a full window is the answer, whatever the anchor. ``bound`` is the
    filter's own limit on the far side (``since`` newest first, ``until`` oldest first): a window
    that would reach past it is the whole queryset.
    """
    if anchor is None or connections[queryset.db].vendor != "postgresql":
        return list(queryset[start:stop])
    for span in WINDOWS:
        edge = anchor - span if newest_first else anchor + span
        if bound is not None and (bound >= edge if newest_first else bound <= edge):
            break
        window = queryset.filter(timestamp__gte=edge) if newest_first else queryset.filter(timestamp__lt=edge)
        rows = list(window[start:stop])
        if len(rows) == stop - start:
            return rows
    return list(queryset[start:stop])


def _older(queryset: QuerySet[UsageLog], position: Position) -> QuerySet[UsageLog]:
    # "timestamp <= t" bounds the index range; the OR only sorts out rows of that same instant.
    return queryset.filter(timestamp__lte=position.timestamp).filter(
        Q(timestamp__lt=position.timestamp) | Q(id__lt=position.id)
    )


def _newer(queryset: QuerySet[UsageLog], position: Position) -> QuerySet[UsageLog]:
    return queryset.filter(timestamp__gte=position.timestamp).filter(
        Q(timestamp__gt=position.timestamp) | Q(id__gt=position.id)
    )


@dataclass(frozen=True, slots=True)
class LogPage:
    """One page of rows, newest first, with the cursors of the pages around it (``None``: none)."""

    rows: list[UsageLog]
    newer_cursor: Position | None
    older_cursor: Position | None


def log_page(
    queryset: QuerySet[UsageLog],
    *,
    before: Position | None = None,
    after: Position | None = None,
    size: int = 50,
    since: datetime | None = None,
    until: datetime | None = None,
) -> LogPage:
    """Keyset pagination on (timestamp, id): rows older than ``before`` or newer than ``after``; no
    OFFSET, no COUNT. ``since`` and ``until`` are the filter's own bounds, if any (already applied
    to ``queryset``): they only spare reads of windows past them (:func:`read_in_windows`)."""
    if after is not None:
        chunk = read_in_windows(
            _newer(queryset, after).order_by("timestamp", "id"),
            size + 1,
            newest_first=False,
            anchor=after.timestamp,
            bound=until,
        )
        rows = chunk[:size][::-1]
        has_newer = len(chunk) > size
        has_older = bool(rows) and bool(
            read_in_windows(_older(queryset, Position.of(rows[-1])), 1, anchor=rows[-1].timestamp, bound=since)
        )
    else:
        scoped = _older(queryset, before) if before is not None else queryset
        top = before.timestamp if before is not None else min(until or timezone.now(), timezone.now())
        chunk = read_in_windows(scoped.order_by(*NEWEST_FIRST), size + 1, anchor=top, bound=since)
        rows = chunk[:size]
        has_older = len(chunk) > size
        has_newer = (
            before is not None
            and bool(rows)
            and bool(
                read_in_windows(
                    _newer(queryset, Position.of(rows[0])).order_by("timestamp", "id"),
                    1,
                    newest_first=False,
                    anchor=rows[0].timestamp,
                    bound=until,
                )
            )
        )
    return LogPage(rows, Position.of(rows[0]) if has_newer else None, Position.of(rows[-1]) if has_older else None)
