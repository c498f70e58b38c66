"""``keyfence_demo``: make sure a demo account exists and print how to use it."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from apikeys import services
from apikeys.conf import BUILTIN_SCOPES
from apikeys.networks import validate_allowlist

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "keyfence-demo"


class Command(BaseCommand):
    help = "Create the demo account if there is none, issue a fresh demo key, and print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()._default_manager
        user = users.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = users.create_user(DEMO_USERNAME, "demo@example.com", DEMO_PASSWORD)
        allowlist = validate_allowlist([{"cidr": "127.0.0.1", "label": "this machine"},
                                        {"cidr": "::1", "label": "this machine (IPv6)"}])
        _, full = services.key_create(
            owner_id=user.pk, name="Demo key", description="Issued by make run; allowed from this machine only.",
            scopes=list(BUILTIN_SCOPES), allowlist=allowlist, actor=services.Actor(user_id=None),
        )
        url = options["url"].rstrip("/")
        self.stdout.write("")
        self.stdout.write(f"  Keyfence is starting at {url}/")
        self.stdout.write(f"  Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write("  Try the API with a fresh demo key (allowed from 127.0.0.1 and ::1 only):")
        self.stdout.write(f"  curl -s -H 'Authorization: Bearer {full}' {url}/api/v1/whoami")
        self.stdout.write("")
