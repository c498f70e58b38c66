"""``keyfence_demo``: make sure a demo account exists and print how to use it.

The demo account has a known password and a full-scope key, so it is created only in the local
SQLite database that ``make run`` uses by default; any other database needs ``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from apikeys import services
from apikeys.conf import BUILTIN_SCOPES
from apikeys.networks import validate_allowlist

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "keyfence-demo"


class Command(BaseCommand):
    help = "Create the demo account if there is none, issue a fresh demo key, and print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Create the demo account even in a database other than the local default.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["force"] and not is_local_default_database():
            # Skipping is not an error: ``make run`` goes on to serve whatever database it was given.
            self.stderr.write(
                f"Not creating the demo account in {describe_database()}: it has a published password, so it "
                "is made only in the local SQLite default. Pass --force (make run DEMO=1) to create it anyway."
            )
            return
        users = get_user_model()._default_manager
        user = users.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = users.create_user(DEMO_USERNAME, "demo@example.com", DEMO_PASSWORD)
        allowlist = validate_allowlist(
            [{"cidr": "127.0.0.1", "label": "this machine"}, {"cidr": "::1", "label": "this machine (IPv6)"}]
        )
        _, full = services.key_create(
            name="Demo key",
            description="Issued by make run; allowed from this machine only.",
            scopes=list(BUILTIN_SCOPES),
            allowlist=allowlist,
            actor=services.Actor(user_id=user.pk),
        )
        url = options["url"].rstrip("/")
        self.stdout.write("")
        self.stdout.write(f"  Keyfence is starting at {url}/")
        self.stdout.write(f"  Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write("  Try the API with a fresh demo key (allowed from 127.0.0.1 and ::1 only):")
        self.stdout.write(f"  curl -s -H 'Authorization: Bearer {full}' {url}/api/v1/whoami")
        self.stdout.write("")


def is_local_default_database() -> bool:
    """Whether the default database is the SQLite file ``make run`` uses when nothing is set."""
    if connection.vendor != "sqlite":
        return False
    return Path(str(connection.settings_dict["NAME"])).resolve() == (Path(settings.BASE_DIR) / "db.sqlite3").resolve()


def describe_database() -> str:
    details = connection.settings_dict
    where = details.get("HOST") or ""
    return f"the {connection.vendor} database {details['NAME']}" + (f" at {where}" if where else "")
