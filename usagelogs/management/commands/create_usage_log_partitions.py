"""``create_usage_log_partitions``: create the daily partitions of the next days ahead (PostgreSQL).

Run it daily (the scheduled job); it also moves rows that arrived before their partition out of the
default partition. A failure is logged at ERROR and exits non-zero; rows keep landing in the default
partition meanwhile, and the ``usagelogs.W010`` database check reports it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from usagelogs import partitions
from usagelogs.conf import conf


class Command(BaseCommand):
    help = "Create the usage-log partitions of today and the next --days-ahead days (PostgreSQL only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days-ahead", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        ahead = conf.PARTITION_DAYS_AHEAD if options["days_ahead"] is None else options["days_ahead"]
        if ahead < 0:
            raise CommandError("INVALID_DAYS: --days-ahead must be 0 or more.")
        if not partitions.is_partitioned():
            self.stdout.write("The usage-log table is not partitioned on this database; nothing to do.")
            return
        try:
            created = partitions.ensure_partitions(days_ahead=ahead, now=timezone.now())
        except DatabaseError as exc:
            raise CommandError(f"PARTITION_FAILED: {exc}") from exc
        for name in created:
            self.stdout.write(f"created {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(created)} partitions created; {ahead} days ahead are covered"))
