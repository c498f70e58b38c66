"""The daily level of the rollup: each UTC day's hours summed once, so that a chart of weeks or
months reads a row per day and group instead of one per hour (SPEC §19: the 30-day chart costs no
more than one page).

The writer never writes it, so a batch costs what it did. The worker *seals* each day once it has
ended for :data:`SETTLE` (``seal_days``, hourly): in one transaction it marks the day clean in
:class:`SealedDay` and replaces the day's :class:`DailyRollup` rows with the sums of its hours. A
batch that arrives later for a day that has ended marks that day dirty, in the batch's own
transaction (``rollup.Upsert``); readers then read the day from its hours, until the next run seals
it again. The marker row serializes the two: whichever of the writer and the sealer touches it
second waits for the other's commit, so the sealer either sees the late rows or leaves the day
dirty. Nothing counted in the hours is ever missing from a day a reader takes as sealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .models import DailyRollup, SealedDay, UsageRollup
from .rollup import day_of

DAY = timedelta(days=1)
# How long after its end a day is sealed: far longer than any batch waits in a writer, so that a
# sealed day seldom turns dirty again.
SETTLE = timedelta(hours=2)


def days_between(low: datetime, high: datetime) -> Iterable[datetime]:
    """The UTC days that start in ``[low, high)``, ``low`` being a day's start."""
    day = low
    while day < high:
        yield day
        day += DAY


def unsealed_days(now: datetime | None = None) -> list[datetime]:
    """The days, from the rollup's first hour to :data:`SETTLE` ago, not sealed or sealed and dirty."""
    first = UsageRollup.objects.order_by("hour").values_list("hour", flat=True).first()
    if first is None:
        return []
    low, high = day_of(first), day_of((now or timezone.now()) - SETTLE)
    clean = clean_days(low, high)
    return [day for day in days_between(low, high) if day not in clean]


def seal_day(day: datetime, now: datetime | None = None) -> int:
    """Replace ``day``'s daily rows with the sums of its hours and mark it clean; its group count."""
    with transaction.atomic():
        # First, so that a writer's batch for this day that has not committed yet is waited for,
        # and its rows summed below; one that comes after marks the day dirty again.
        SealedDay.objects.bulk_create(
            [SealedDay(day=day, dirty=False, sealed_at=now or timezone.now())],
            update_conflicts=True,
            unique_fields=["day"],
            update_fields=["dirty", "sealed_at"],
        )
        DailyRollup.objects.filter(day=day).delete()
        groups = (
            UsageRollup.objects.filter(hour__gte=day, hour__lt=day + DAY)
            .values("workspace_id", "key_id", "decision", "status_class")
            .annotate(count=Sum("requests"), total=Sum("total_response_ms"))
            .order_by()
        )
        rows = [
            DailyRollup(
                workspace_id=group["workspace_id"],
                key_id=group["key_id"],
                day=day,
                decision=group["decision"],
                status_class=group["status_class"],
                requests=group["count"],
                total_response_ms=group["total"],
            )
            for group in groups
        ]
        DailyRollup.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def seal_days(now: datetime | None = None) -> list[datetime]:
    """Seal every day that needs it (:func:`unsealed_days`), one transaction each; the days sealed."""
    days = unsealed_days(now)
    for day in days:
        seal_day(day, now)
    return days


def clean_days(low: datetime, high: datetime) -> set[datetime]:
    """The sealed, clean days that start in ``[low, high)``."""
    return set(SealedDay.objects.filter(dirty=False, day__gte=low, day__lt=high).values_list("day", flat=True))
