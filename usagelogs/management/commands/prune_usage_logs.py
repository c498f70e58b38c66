"""``prune_usage_logs``: delete rows older than the retention period, in batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from usagelogs.conf import conf
from usagelogs.services import prune_logs


class Command(BaseCommand):
    help = "Delete usage logs older than --days (default KEYFENCE_LOG_RETENTION_DAYS), in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        days = conf.LOG_RETENTION_DAYS if options["days"] is None else options["days"]
        if days < 0:
            raise CommandError("INVALID_DAYS: --days must be 0 or more.")
        batch_size = conf.PRUNE_BATCH_SIZE if options["batch_size"] is None else options["batch_size"]
        if batch_size < 1:
            raise CommandError("INVALID_BATCH_SIZE: --batch-size must be 1 or more.")
        cutoff = timezone.now() - timedelta(days=days)

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"deleted {done} of {total}")

        total = prune_logs(
            cutoff=cutoff,
            batch_size=batch_size,
            dry_run=options["dry_run"],
            pause=conf.PRUNE_PAUSE_SECONDS,
            progress=progress,
        )
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {total} usage-log rows older than {cutoff:%Y-%m-%d %H:%M:%S} UTC")
        )
