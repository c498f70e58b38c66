"""What happens to workspaces when a user is deleted (SPEC §13)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .models import Workspace


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="workspaces-user-deleted")
def user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Delete the workspaces where the user is the only member, with everything they own.

    Their keys go with them and stop at once; workspaces shared with others keep their keys.
    """
    theirs = Workspace.objects.filter(memberships__user_id=instance.pk).values("pk")
    # Counted over every membership: a filter on the same join would count only theirs.
    alone = Workspace.objects.filter(pk__in=theirs).annotate(members=Count("memberships")).filter(members=1)
    for workspace in alone:
        workspace.delete()
