"""Requests over time, allowed against blocked and rate-limited: pure functions from bucketed counts
to SVG data.

The view counts rows per hour or day with the ORM; these functions choose the bounded window,
fill the empty buckets and lay out the stacked bars that the template draws as inline SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR, DAY = "hour", "day"
STEPS = {HOUR: timedelta(hours=1), DAY: timedelta(days=1)}
DEFAULT_SPAN = timedelta(days=7)
MAX_HOURLY_SPAN = timedelta(days=7)
MAX_DAILY_SPAN = timedelta(days=366)
SLOT = 10  # SVG units per bucket
BAR = 8
HEIGHT = 100


@dataclass(frozen=True, slots=True)
class Window:
    """The period charted: ``start`` inclusive, ``end`` exclusive, both on bucket boundaries."""

    start: datetime
    end: datetime
    unit: str
    clamped: bool = False


@dataclass(frozen=True, slots=True)
class Bucket:
    """The requests of one hour or day: ``allowed`` is everything the allowlist did not block,
    except ``limited``: the 429s of a key's rate limit or quota (SPEC §18)."""

    start: datetime
    allowed: int
    blocked: int
    limited: int = 0


@dataclass(frozen=True, slots=True)
class Bar:
    """One stacked bar in SVG units: allowed at the bottom, blocked on top, and its tooltip."""

    x: int
    width: int
    allowed_y: float
    allowed_height: float
    blocked_y: float
    blocked_height: float
    title: str
    limited_y: float = 0.0
    limited_height: float = 0.0


@dataclass(frozen=True, slots=True)
class Chart:
    """What the template needs to draw the chart and say what it shows."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    y_labels: tuple[str, str, str]
    x_labels: tuple[str, str, str]
    allowed: int
    blocked: int
    summary: str
    unit: str
    limited: int = 0


def _floor(moment: datetime, unit: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == DAY else moment


def window_for(since: datetime | None, until: datetime | None, now: datetime) -> Window:
    """The filtered period, or the last 7 days; hourly up to 7 days, daily up to a year."""
    end = until or now
    start = since if since is not None and since < end else end - DEFAULT_SPAN
    clamped = end - start > MAX_DAILY_SPAN
    if clamped:
        start = end - MAX_DAILY_SPAN
    unit = HOUR if end - start <= MAX_HOURLY_SPAN else DAY
    ceiling = _floor(end, unit)
    if ceiling < end:
        ceiling += STEPS[unit]
    return Window(_floor(start, unit), ceiling, unit, clamped)


def fill(window: Window, counts: Mapping[datetime, tuple[int, ...]]) -> list[Bucket]:
    """Every bucket of the window, with ``(allowed, blocked[, limited])`` from ``counts`` or zeros."""
    buckets, moment, step = [], window.start, STEPS[window.unit]
    while moment < window.end:
        allowed, blocked, *limited = counts.get(moment, (0, 0))
        buckets.append(Bucket(moment, allowed, blocked, limited[0] if limited else 0))
        moment += step
    return buckets


def nice_ceiling(value: int) -> int:
    """The smallest of 2, 4, 6, 8, 10, 20, 40, ... that is at least ``value``; halves stay whole."""
    scale = 1
    while True:
        for step in (2, 4, 6, 8, 10):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _label(moment: datetime, unit: str) -> str:
    return moment.strftime("%b %-d %H:%M") if unit == HOUR else moment.strftime("%b %-d")


def _bar(index: int, bucket: Bucket, top: int, unit: str) -> Bar:
    def height(count: int) -> float:
        return max(count / top * HEIGHT, 1.0) if count else 0.0

    allowed_height, blocked_height = height(bucket.allowed), height(bucket.blocked)
    limited_height = height(bucket.limited)
    title = f"{bucket.start:%Y-%m-%d %H:%M} UTC: {bucket.allowed:,} allowed, {bucket.blocked:,} blocked"
    if bucket.limited:
        title += f", {bucket.limited:,} rate limited"
    return Bar(
        x=index * SLOT + (SLOT - BAR) // 2,
        width=BAR,
        allowed_y=HEIGHT - allowed_height,
        allowed_height=allowed_height,
        blocked_y=HEIGHT - allowed_height - blocked_height,
        blocked_height=blocked_height,
        title=title,
        limited_y=HEIGHT - allowed_height - blocked_height - limited_height,
        limited_height=limited_height,
    )


def _summary(buckets: Sequence[Bucket], window: Window) -> str:
    allowed = sum(b.allowed for b in buckets)
    blocked = sum(b.blocked for b in buckets)
    limited = sum(b.limited for b in buckets)
    period = f"from {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC"
    if not allowed + blocked + limited:
        return f"No requests {period}."
    busiest = max(buckets, key=lambda b: b.allowed + b.blocked + b.limited)
    refused = f", {blocked:,} blocked and {limited:,} rate limited" if limited else f" and {blocked:,} blocked"
    return (
        f"{allowed + blocked + limited:,} requests {period}: {allowed:,} allowed{refused}. "
        f"The busiest {window.unit} began {busiest.start:%Y-%m-%d %H:%M} UTC, "
        f"with {busiest.allowed + busiest.blocked + busiest.limited:,} requests."
    )


def build_chart(buckets: Sequence[Bucket], window: Window) -> Chart:
    """Lay out one stacked bar per bucket, blocked on top of allowed, on a 0..HEIGHT scale."""
    top = nice_ceiling(max((b.allowed + b.blocked + b.limited for b in buckets), default=0))
    middle = _floor(window.start + (window.end - window.start) / 2, window.unit)
    return Chart(
        width=max(len(buckets), 1) * SLOT,
        height=HEIGHT,
        bars=tuple(_bar(i, b, top, window.unit) for i, b in enumerate(buckets)),
        y_labels=(f"{top:,}", f"{top // 2:,}", "0"),
        x_labels=(_label(window.start, window.unit), _label(middle, window.unit), _label(window.end, window.unit)),
        allowed=sum(b.allowed for b in buckets),
        blocked=sum(b.blocked for b in buckets),
        summary=_summary(buckets, window),
        unit=window.unit,
        limited=sum(b.limited for b in buckets),
    )
