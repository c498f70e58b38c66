"""``create_api_key``: create a key and print only the key, so ``KEY=$(...)`` works."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apikeys import services
from apikeys.models import AllowlistMode
from apikeys.networks import validate_allowlist
from apikeys.ratelimit_rules import parse_rate_limit_text
from workspaces.access import RoleDenied
from workspaces.selectors import workspace_by_slug


def _allow_item(text: str) -> dict[str, str]:
    cidr, _, label = text.partition("=")
    return {"cidr": cidr, "label": label}


def _describe(exc: ValidationError) -> str:
    lines = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            lines += [f"{error.code}: {field}: {message}" for error in errors for message in error]
    else:
        lines += [f"{error.code}: {message}" for error in exc.error_list for message in error]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Create an API key for a user and print the full key, alone, on stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username of the owner")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")
        parser.add_argument("--scope", action="append", default=[], dest="scopes", help="repeatable")
        parser.add_argument("--allow", action="append", default=[], metavar="CIDR[=LABEL]", help="repeatable")
        parser.add_argument("--report-only", action="store_true")
        parser.add_argument("--expires-in", type=int, metavar="DAYS")
        parser.add_argument(
            "--workspace", metavar="SLUG", help="where the key goes; default: the user's personal workspace"
        )
        parser.add_argument(
            "--rate-limit",
            metavar="N/PER",
            help="such as 100/minute (per second, minute or hour); default: the workspace's default rate limit; "
            "none for no limit",
        )
        parser.add_argument("--monthly-quota", metavar="N", help="requests per calendar month (UTC)")

    def _workspace_id(self, slug: str | None) -> Any:
        """The workspace's id; ``None`` (the user's personal workspace) when no slug is given."""
        if slug is None:
            return None
        workspace = workspace_by_slug(slug)
        if workspace is None:
            raise CommandError(f"WORKSPACE_NOT_FOUND: no workspace {slug!r}.")
        return workspace.pk

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            owner = user_model._default_manager.get_by_natural_key(options["user"])
        except user_model.DoesNotExist:
            raise CommandError(f"USER_NOT_FOUND: no user named {options['user']!r}.") from None
        expires_in = options["expires_in"]
        if expires_in is not None and not 1 <= expires_in <= 3650:
            raise CommandError("INVALID_EXPIRY: --expires-in takes 1 to 3650 days.")
        workspace_id = self._workspace_id(options["workspace"])
        quota = options["monthly_quota"]
        # Any text reaches the one quota rule, so that "abc" gets INVALID_QUOTA as 0 does.
        limits: dict[str, Any] = {"monthly_quota": int(quota) if quota and quota.lstrip("-").isdigit() else quota}
        try:
            if options["rate_limit"] is not None:
                limits["rate_limit"] = parse_rate_limit_text(options["rate_limit"])
            allowlist = validate_allowlist([_allow_item(item) for item in options["allow"]])
            _, full = services.key_create(
                name=options["name"],
                description=options["description"],
                scopes=options["scopes"],
                allowlist=allowlist,
                allowlist_mode=AllowlistMode.REPORT if options["report_only"] else AllowlistMode.ENFORCE,
                expires_at=timezone.now() + timedelta(days=expires_in) if expires_in else None,
                actor=services.Actor(user_id=owner.pk),
                workspace_id=workspace_id,
                **limits,
            )
        except RoleDenied as exc:
            # The user's role in the workspace, as on the pages and the API (SPEC §13).
            raise CommandError(f"{RoleDenied.code}: {owner.get_username()}: {exc.message}") from None
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from None
        self.stdout.write(full)
