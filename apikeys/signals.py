"""Keep cached keys honest when keys or their creators change outside the apikeys services, and
record in the audit trail the member changes that workspaces announce."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from workspaces.access import Actor
from workspaces.events import member_changed

from . import keycache
from .models import ApiKey, AuditEvent


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="apikeys-creator-changed")
def creator_changed(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """A deactivated user's keys must stop working on every process at once."""
    if created or not keycache.cache_is_shared():
        return
    if update_fields is not None and "is_active" not in update_fields:
        return  # e.g. the last_login stamp of every sign-in
    for prefix in ApiKey.objects.filter(created_by_id=instance.pk).values_list("prefix", flat=True):
        keycache.invalidate(prefix)


@receiver(post_delete, sender=ApiKey, dispatch_uid="apikeys-key-deleted")
def key_deleted(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    """A deleted key must stop working on every process at once, whatever deleted it.

    Being connected, this receiver also stops Django from deleting keys without loading them
    (its "fast delete"), so a queryset delete, the admin's bulk delete and the cascade from a
    deleted workspace all come through here, one call per key, inside the deleting transaction.
    """
    keycache.invalidate(instance.prefix)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="apikeys-creator-deleted")
def creator_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A deleted user's keys in shared workspaces keep working, as no user: reread them everywhere."""
    for prefix in ApiKey.objects.filter(created_by_id=instance.pk).values_list("prefix", flat=True):
        keycache.invalidate(prefix)


@receiver(member_changed, dispatch_uid="apikeys-member-changed")
def member_changed_audit(
    sender: Any, action: str, workspace_id: Any, actor: Actor, before: Any, after: Any, **kwargs: Any
) -> None:
    """Record a member's addition, role change or removal in the workspace's audit trail.

    Sent inside the change's transaction, so that the change and its event stand or fall together.
    """
    AuditEvent.objects.create(
        api_key=None,
        workspace_id=workspace_id,
        action=action,
        actor_user_id=actor.user_id,
        actor_key_id=actor.key_id,
        client_ip=actor.ip,
        before=before,
        after=after,
    )
