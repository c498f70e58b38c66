"""The header's workspace switcher: the current workspace, the member's role there, and the rest."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .current import current_membership, memberships_of
from .roles import Action, can


class RoleCan:
    """``{% if role_can.create_key %}``: whether the current role allows an action (roles.Action)."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __getitem__(self, action: str) -> bool:
        return can(self.role, Action(action))


def workspace(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = current_membership(request)
    return {
        "current_membership": membership,
        "current_workspace": membership.workspace,
        "role_can": RoleCan(membership.role),
        "workspace_memberships": memberships_of(user.pk),
    }
