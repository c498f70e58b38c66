"""Run the task queue's worker and its scheduler (SPEC §16): deliveries, e-mail, scheduled jobs."""

from __future__ import annotations

from typing import Any

from huey.contrib.djhuey.management.commands.run_huey import Command as RunHuey


class Command(RunHuey):
    help = (
        "Run Keyfence's task queue worker with its scheduler: webhook deliveries, e-mails, expiry "
        "warnings, inactive keys. Stops on SIGINT or SIGTERM after the tasks in progress."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from huey.contrib.djhuey import HUEY

        self.stdout.write(f"Keyfence worker: {type(HUEY).__name__} queue {HUEY.name!r}")
        self.stdout.flush()
        super().handle(*args, **options)
