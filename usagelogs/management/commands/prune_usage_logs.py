"""``prune_usage_logs``: remove rows older than the retention period.

On PostgreSQL whole daily partitions are dropped and the partition at the boundary is trimmed in
batches; on SQLite every old row is deleted in batches. The hourly rollup is pruned with the rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from usagelogs.conf import conf
from usagelogs.services import prune_logs


class Command(BaseCommand):
    help = (
        "Remove usage logs older than --days (default KEYFENCE_LOG_RETENTION_DAYS): whole daily "
        "partitions on PostgreSQL, batches of rows otherwise."
    )

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
        dry_run = options["dry_run"]

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"deleted {done} of {total}")

        def dropped(name: str, rows: int, seconds: float) -> None:
            verb = "would drop" if dry_run else "dropped"
            self.stdout.write(f"{verb} partition {name} (about {rows} rows) in {seconds * 1000:.0f} ms")

        try:
            result = prune_logs(
                cutoff=cutoff,
                batch_size=batch_size,
                dry_run=dry_run,
                pause=conf.PRUNE_PAUSE_SECONDS,
                progress=progress,
                dropped=dropped,
                lock_timeout_ms=conf.PRUNE_LOCK_TIMEOUT_MS,
            )
        except DatabaseError as exc:
            raise CommandError(f"PRUNE_FAILED: {exc}") from exc
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {result.total} usage-log rows older than {cutoff:%Y-%m-%d %H:%M:%S} UTC "
                f"({len(result.dropped)} partitions, {result.trimmed} rows in batches) "
                f"and {result.rollup_rows} rollup rows"
            )
        )
