"""The browser's current workspace (SPEC §13): kept in the session, checked on every request.

A session names its workspace by slug. A slug the user is no longer a member of falls back to
their personal workspace, so a removed member sees their own keys rather than an error.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import Membership
from .services import personal_workspace_for

SESSION_KEY = "workspace"
_ATTRIBUTE = "_keyfence_membership"


def _membership(user_id: Any, slug: str | None) -> Membership | None:
    found = Membership.objects.select_related("workspace").filter(user_id=user_id)
    if slug:
        return found.filter(workspace__slug=slug).first()
    return found.filter(workspace__personal_for_id=user_id).first()


def current_membership(request: HttpRequest) -> Membership:
    """The signed-in user's membership in their current workspace, read once per request."""
    cached: Membership | None = getattr(request, _ATTRIBUTE, None)
    if cached is not None:
        return cached
    user_id = request.user.pk
    slug = request.session.get(SESSION_KEY)
    membership = _membership(user_id, slug) if slug else None
    if membership is None:
        membership = _membership(user_id, None)
        if membership is None:
            personal_workspace_for(user_id=user_id)
            membership = _membership(user_id, None)
        assert membership is not None  # personal_workspace_for makes the user its owner
        if slug:
            request.session.pop(SESSION_KEY, None)
    setattr(request, _ATTRIBUTE, membership)
    return membership


def switch_to(request: HttpRequest, slug: str) -> Membership | None:
    """Make ``slug`` the current workspace if the user is a member there; ``None`` if not."""
    membership = _membership(request.user.pk, slug) if slug else None
    if membership is not None:
        request.session[SESSION_KEY] = membership.workspace.slug
        setattr(request, _ATTRIBUTE, membership)
    return membership


def memberships_of(user_id: Any) -> list[Membership]:
    """The user's workspaces for the switcher, personal first, then by name."""
    found = list(Membership.objects.select_related("workspace").filter(user_id=user_id))
    return sorted(found, key=lambda m: (m.workspace.personal_for_id != user_id, m.workspace.name.lower()))
