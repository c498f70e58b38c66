"""When a temporary or scheduled allowlist entry applies (SPEC §15): its window, parsed and checked.

An entry may carry ``not_before`` and ``expires_at`` (UTC, both optional). Outside that window it
matches nothing; :mod:`apikeys.matching` compares the times on every check. Pure: no ORM.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

INVALID_WINDOW = "INVALID_WINDOW"
MAX_AHEAD = timedelta(days=365)
MESSAGES = {
    "format": "Enter a date and time in ISO 8601, such as 2026-05-01T09:00:00Z.",
    "order": "expires_at must be later than not_before.",
    "ahead": "expires_at can be at most 1 year ahead.",
}
# What the editor's "Add my IP" offers, as (value, label, duration).
DURATIONS = [
    ("", "Permanent", None),
    ("3600", "1 hour", timedelta(hours=1)),
    ("86400", "1 day", timedelta(days=1)),
    ("604800", "7 days", timedelta(days=7)),
]

ACTIVE, SCHEDULED, EXPIRED = "active", "scheduled", "expired"


def _error(reason: str) -> ValidationError:
    return ValidationError(MESSAGES[reason], code=INVALID_WINDOW)


def parse_moment(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text or a datetime; ``None`` and ``""`` mean no bound."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else None
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        raise _error("format")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)  # times without an offset are UTC, as everywhere here
    return moment.astimezone(UTC)


def validate_window(not_before: Any, expires_at: Any, now: datetime | None = None) -> dict[str, Any]:
    """``{"not_before", "expires_at"}`` checked; raises ``ValidationError`` keyed by field, ``INVALID_WINDOW``.

    ``expires_at`` must be after ``not_before`` and at most a year ahead. One already past is
    accepted and listed as expired, so that a list read and written back unchanged always saves.
    """
    errors: dict[str, list[ValidationError]] = {}
    window: dict[str, datetime | None] = {"not_before": None, "expires_at": None}
    for field, value in (("not_before", not_before), ("expires_at", expires_at)):
        try:
            window[field] = parse_moment(value)
        except ValidationError as exc:
            errors[field] = exc.error_list
    start, end = window["not_before"], window["expires_at"]
    if end is not None and start is not None and end <= start:
        errors["expires_at"] = [_error("order")]
    elif end is not None and end > (now or timezone.now()) + MAX_AHEAD:
        errors["expires_at"] = [_error("ahead")]
    if errors:
        raise ValidationError(errors)
    return window


def window_status(not_before: datetime | None, expires_at: datetime | None, now: datetime | None = None) -> str:
    """``active``, ``scheduled`` (its window has not started) or ``expired`` (its window has passed)."""
    moment = now or timezone.now()
    if expires_at is not None and expires_at <= moment:
        return EXPIRED
    if not_before is not None and not_before > moment:
        return SCHEDULED
    return ACTIVE


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC text for audit snapshots, or ``None``."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
