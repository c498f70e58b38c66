"""``report_leaked_keys``: contain the keys read from stdin, one a line, as a leak report would."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apikeys.secrets import prefix_of
from apikeys.services.leaks import contain_leaked_key, key_for_token


class Command(BaseCommand):
    help = (
        "Read keys from stdin, one a line, and contain each live one as its workspace's leak_response "
        "says. Prints one line per key, naming it by prefix only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", default="reported on the command line", help="where the keys were found")

    def handle(self, *args: Any, **options: Any) -> None:
        for line in sys.stdin:
            token = line.strip()
            if not token:
                continue
            shown = f"kf_{prefix_of(token)}_…" if prefix_of(token) else "(not a Keyfence key)"
            key = key_for_token(token)
            if key is None:
                self.stdout.write(f"false_positive {shown}")
                continue
            outcome = contain_leaked_key(key_id=key.pk, source=options["source"])
            what = outcome.outcome if outcome is not None else "already revoked"
            self.stdout.write(f"true_positive {shown} {key.name}: {what}")
