"""Reads about workspaces and memberships."""

from __future__ import annotations

from typing import Any

from .models import Membership, Workspace


def workspace_by_slug(slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug).first()


def role_of(*, workspace_id: Any, user_id: Any) -> str | None:
    """The user's role in the workspace, or ``None`` if they are not a member."""
    role: str | None = (
        Membership.objects.filter(workspace_id=workspace_id, user_id=user_id).values_list("role", flat=True).first()
    )
    return role
