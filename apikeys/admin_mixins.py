"""Admin pieces shared by the apps' admins, importable without registering any model."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from workspaces.access import Actor
from workspaces.models import Membership

from .request import client_ip_text

_M = TypeVar("_M", bound=Model)


class ReadOnlyAdminMixin:
    """Records that nobody edits: no add, change or delete, for staff either."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def admin_actor(request: HttpRequest) -> Actor:
    """The admin's actor: a superuser is the operator and acts as an owner of every workspace;
    other staff act with their role in each workspace, as on the pages (SPEC §13)."""
    ip = client_ip_text(request)
    return Actor(user_id=request.user.pk, ip=ip, system=bool(getattr(request.user, "is_superuser", False)))


def admin_scope(request: HttpRequest, queryset: QuerySet[_M], field: str = "workspace_id") -> QuerySet[_M]:
    """What the admin lists: everything for a superuser; for other staff, their workspaces' rows."""
    if getattr(request.user, "is_superuser", False):
        return queryset
    theirs = Membership.objects.filter(user=request.user.pk).values("workspace_id")
    return queryset.filter(**{f"{field}__in": theirs})
