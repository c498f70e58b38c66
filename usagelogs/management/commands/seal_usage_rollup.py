"""``seal_usage_rollup``: sum each ended day's hours into the daily rollup that long charts read.

The worker runs it hourly. A day is sealed once it has ended for two hours, and sealed again after
a late batch has marked it dirty; until then readers take the day from its hours, so running it
late or never costs speed, not correctness.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from usagelogs.daily import seal_days


class Command(BaseCommand):
    help = "Sum every ended day's hourly rollup into the daily rollup, where it is missing or out of date."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            days = seal_days()
        except DatabaseError as exc:
            raise CommandError(f"SEAL_FAILED: {exc}") from exc
        for day in days:
            self.stdout.write(f"sealed {day:%Y-%m-%d}")
        self.stdout.write(self.style.SUCCESS(f"{len(days)} days sealed"))
