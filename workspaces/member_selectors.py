"""Reads of a workspace's members: another workspace's membership is a 404."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from .models import Membership


def members_of(*, workspace_id: Any) -> QuerySet[Membership]:
    """The workspace's members with their users, by username."""
    return Membership.objects.filter(workspace_id=workspace_id).select_related("user").order_by("user__username")


def member_get_for(*, workspace_id: Any, member_id: Any) -> Membership:
    """One membership of the workspace, or ``Http404`` (for other workspaces' memberships too)."""
    try:
        pk = member_id if isinstance(member_id, uuid.UUID) else uuid.UUID(str(member_id))
        return members_of(workspace_id=workspace_id).get(pk=pk)
    except (ValueError, Membership.DoesNotExist):
        raise Http404("No such member.") from None
