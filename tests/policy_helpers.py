"""Helpers for the workspace-policy tests: a team with one member of each role, and its policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import WorkspacePolicy
from workspaces.current import SESSION_KEY
from workspaces.models import Membership, Workspace

ROLES = ("viewer", "developer", "admin", "owner")


@dataclass
class Team:
    """The Payments workspace, with a member of each role (``members["admin"]`` and so on)."""

    workspace: Workspace
    members: dict[str, Any]


def make_team() -> Team:
    users = get_user_model().objects
    workspace = Workspace.objects.create(name="Payments", slug="payments")
    members = {}
    for role in ROLES:
        members[role] = users.create_user(f"{role}-member", f"{role}@example.com", "a-long-passphrase-1")
        Membership.objects.create(workspace=workspace, user=members[role], role=role)
    return Team(workspace, members)


def set_policy(workspace_id: Any, **values: Any) -> WorkspacePolicy:
    """Store policies directly, as an earlier change would have left them."""
    values.setdefault("updated_at", timezone.now())
    policy, _ = WorkspacePolicy.objects.update_or_create(workspace_id=workspace_id, defaults=values)
    return policy


def codes(exc: ValidationError) -> dict[str, list[str]]:
    """``{"field.path": ["CODE", ...]}`` of a service's ValidationError."""
    return {field: [str(error.code) for error in errors] for field, errors in exc.error_dict.items()}


def field_codes(response: Any) -> dict[str, list[str]]:
    """``{"field.path": ["CODE", ...]}`` of an API validation error."""
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR", body
    return {path: [error["code"] for error in errors] for path, errors in body["fields"].items()}


def signed_in(user: Any, workspace: Workspace, *, api: bool = False) -> Any:
    """A browser session (or an API client with one) whose current workspace is ``workspace``."""
    client = APIClient(REMOTE_ADDR="127.0.0.1") if api else Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = workspace.slug
    session.save()
    return client
