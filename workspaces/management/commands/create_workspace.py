"""``create_workspace``: make a team workspace and print its slug alone, so ``WS=$(...)`` works."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workspaces.services import workspace_create


def describe(exc: ValidationError) -> str:
    """One ``CODE: field: message`` line per error, for the command line."""
    return "\n".join(
        f"{error.code}: {field}: {message}"
        for field, errors in exc.error_dict.items()
        for error in errors
        for message in error
    )


class Command(BaseCommand):
    help = "Create a workspace owned by a user and print its slug, alone, on stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", required=True, help="username of the owner")
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", help="lower-case letters, digits and hyphens; made from the name if left out")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()._default_manager
        try:
            owner = users.get_by_natural_key(options["owner"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"USER_NOT_FOUND: no user named {options['owner']!r}.") from None
        try:
            workspace = workspace_create(owner_id=owner.pk, name=options["name"], slug=options["slug"])
        except ValidationError as exc:
            raise CommandError(describe(exc)) from None
        self.stdout.write(workspace.slug)
