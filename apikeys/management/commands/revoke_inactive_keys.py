"""``revoke_inactive_keys``: revoke the keys unused for longer than their workspace's policy allows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apikeys.services.inactive import InactiveKey, revoke_inactive_keys


def _line(item: InactiveKey, verb: str) -> str:
    key = item.key
    used = "last used" if key.last_used_at else "never used; created"
    return (
        f"{verb} kf_{key.prefix}_… {key.name!r} in {key.workspace.slug}: "
        f"{used} {item.last_seen:%Y-%m-%d %H:%M} UTC, over {item.days} days ago"
    )


class Command(BaseCommand):
    help = (
        "Revoke, in every workspace with inactive_key_days, the active keys unused for that many days "
        "(since their last use, or their creation if never used). The audit trail records reason inactive."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list the keys, revoke nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        items = revoke_inactive_keys(dry_run=dry_run)
        verb = "Would revoke" if dry_run else "Revoked"
        for item in items:
            self.stdout.write(_line(item, verb))
        self.stdout.write(
            f"{verb} {len(items)} inactive key(s)." + (" Nothing was changed (dry run)." if dry_run else "")
        )
