"""Keep cached keys honest when keys or their owners change outside the apikeys services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import keycache
from .models import ApiKey


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="apikeys-owner-changed")
def owner_changed(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """A deactivated owner's keys must stop working on every process at once."""
    if created or not keycache.cache_is_shared():
        return
    if update_fields is not None and "is_active" not in update_fields:
        return  # e.g. the last_login stamp of every sign-in
    for prefix in ApiKey.objects.filter(owner_id=instance.pk).values_list("prefix", flat=True):
        keycache.invalidate(prefix)


@receiver(post_delete, sender=ApiKey, dispatch_uid="apikeys-key-deleted")
def key_deleted(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    """A deleted key must stop working on every process at once, whatever deleted it.

    Being connected, this receiver also stops Django from deleting keys without loading them
    (its "fast delete"), so a queryset delete, the admin's bulk delete and the cascade from a
    deleted owner all come through here, one call per key, inside the deleting transaction.
    """
    keycache.invalidate(instance.prefix)
