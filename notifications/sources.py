"""Where events come from, without the lower apps knowing this app exists.

- Changes to keys, allowlists, members and policies: every one writes an ``apikeys`` audit event;
  a ``post_save`` receiver turns the ones listed in :data:`FROM_AUDIT` into events, in the same
  transaction (so an event exists exactly when its change does).
- Blocked requests: the usage-log writer hands each written batch's blocked and report-only
  rows to :mod:`.blocks` through ``usagelogs.signals.blocks_written``.
- Quotas: the keys app sends ``apikeys.signals_out.quota_threshold_reached`` once per key,
  threshold (80 % and 100 %) and month.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from apikeys.models import ApiKey, AuditEvent
from apikeys.signals_out import quota_threshold_reached
from usagelogs.signals import blocks_written

from . import blocks
from .events import emit
from .models import EventType

FROM_AUDIT = {
    "key.created": EventType.KEY_CREATED,
    "key.rolled": EventType.KEY_ROLLED,
    "key.revoked": EventType.KEY_REVOKED,
    "key.leaked": EventType.KEY_LEAKED,
    "allowlist.mode_changed": EventType.ALLOWLIST_CHANGED,
    "allowlist.entry_added": EventType.ALLOWLIST_CHANGED,
    "allowlist.entry_updated": EventType.ALLOWLIST_CHANGED,
    "allowlist.entry_removed": EventType.ALLOWLIST_CHANGED,
    "allowlist.replaced": EventType.ALLOWLIST_CHANGED,
    "key.containment_undone": EventType.ALLOWLIST_CHANGED,
    "policy.changed": EventType.POLICY_CHANGED,
    "member.added": EventType.MEMBER_ADDED,
    "member.removed": EventType.MEMBER_REMOVED,
    "member.role_changed": EventType.MEMBER_ROLE_CHANGED,
}


def _actor(audit: AuditEvent) -> str:
    if audit.actor_system:
        return audit.actor_system
    if audit.actor_key_id is not None:
        prefix = ApiKey.objects.filter(pk=audit.actor_key_id).values_list("prefix", flat=True).first()
        return f"key {prefix}" if prefix else "a key"
    if audit.actor_user_id is not None:
        return audit.actor_user.get_username() if audit.actor_user else ""
    return ""


@receiver(post_save, sender=AuditEvent, dispatch_uid="notifications-from-audit")
def audit_recorded(sender: Any, instance: AuditEvent, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """Raise the event an audited change stands for (``key.revoked`` carries its ``reason``)."""
    event_type = FROM_AUDIT.get(instance.action)
    if not created or raw or event_type is None:
        return
    data: dict[str, Any] = {"actor": _actor(instance), "before": instance.before, "after": instance.after}
    if event_type == EventType.KEY_REVOKED:
        data["reason"] = (instance.after or {}).get("reason") or "user"
    if instance.action != event_type:
        data["change"] = instance.action
    key = instance.api_key if instance.api_key_id else None
    emit(workspace_id=instance.workspace_id, type=event_type, data=data, key=key)


@receiver(blocks_written, dispatch_uid="notifications-blocks-written")
def blocks_were_written(sender: Any, rows: list[dict[str, Any]], **kwargs: Any) -> None:
    blocks.observe(rows)


@receiver(quota_threshold_reached, dispatch_uid="notifications-quota")
def quota_reached(sender: Any, key_id: Any, workspace_id: Any, **kwargs: Any) -> None:
    """A key used 80 % or 100 % of its monthly quota: ``key.quota``, once per threshold and month."""
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        return
    data = {name: kwargs.get(name) for name in ("percent", "used", "quota", "month")}
    emit(workspace_id=workspace_id, type=EventType.KEY_QUOTA, data=data, key=key)
